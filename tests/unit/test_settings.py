import pytest

from token_vending_machine.errors import ConfigurationError
from token_vending_machine.names import Env
from token_vending_machine.settings import MAX_TOKEN_EXPIRY_SECONDS, Settings, load_settings

REQUIRED = {Env.SECRET_NAME: "MomentoApiKeySecret"}


def test_defaults():
    settings = load_settings(REQUIRED)

    assert settings.secret_id == "MomentoApiKeySecret"
    assert settings.token_expiry_seconds == 3600
    assert settings.secret_max_age_seconds == 300
    assert settings.momento_timeout_seconds == 2.0
    assert settings.momento_max_attempts == 3
    assert settings.local_host_and_port is None


def test_values_from_the_environment():
    settings = load_settings(
        {
            **REQUIRED,
            Env.TOKEN_EXPIRY_SECONDS: "900",
            Env.SECRET_MAX_AGE_SECONDS: "60",
            Env.MOMENTO_TIMEOUT_SECONDS: "0.5",
            Env.MOMENTO_MAX_ATTEMPTS: "5",
            Env.MOMENTO_LOCAL_ENDPOINT: "127.0.0.1:9090",
        }
    )

    assert settings.token_expiry_seconds == 900
    assert settings.secret_max_age_seconds == 60
    assert settings.momento_timeout_seconds == 0.5
    assert settings.momento_max_attempts == 5
    assert settings.local_host_and_port == ("127.0.0.1", 9090)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (Env.TOKEN_EXPIRY_SECONDS, "0"),
        (Env.TOKEN_EXPIRY_SECONDS, "-5"),
        (Env.TOKEN_EXPIRY_SECONDS, str(MAX_TOKEN_EXPIRY_SECONDS + 1)),
        (Env.TOKEN_EXPIRY_SECONDS, "an hour"),
        (Env.MOMENTO_TIMEOUT_SECONDS, "0"),
        (Env.MOMENTO_MAX_ATTEMPTS, "0"),
        (Env.MOMENTO_LOCAL_ENDPOINT, "localhost"),
    ],
)
def test_invalid_values_name_the_variable(name, value):
    with pytest.raises(ConfigurationError) as caught:
        load_settings({**REQUIRED, name: value})

    assert name.value in caught.value.message


def test_the_secret_name_is_required():
    with pytest.raises(ConfigurationError) as caught:
        load_settings({})

    assert Env.SECRET_NAME.value in caught.value.message


def test_expiry_of_exactly_25_hours_is_allowed():
    assert load_settings({**REQUIRED, Env.TOKEN_EXPIRY_SECONDS: str(MAX_TOKEN_EXPIRY_SECONDS)}).token_expiry_seconds


def test_every_shared_name_is_a_declared_setting():
    declared = {info.alias for info in Settings.model_fields.values()}

    assert set(Env) <= declared


def test_a_settings_variable_is_its_upper_cased_name_unless_it_says_otherwise():
    assert Settings.model_fields["max_body_bytes"].alias == "MAX_BODY_BYTES"
    assert Settings.model_fields["secret_id"].alias == "MOMENTO_API_KEY_SECRET_NAME"
