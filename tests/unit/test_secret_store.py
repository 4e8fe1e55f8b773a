"""The secret cache with an in-memory Secrets Manager and a controllable clock."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from token_vending_machine.adapters.secrets import SecretsManagerSource, SecretStore
from token_vending_machine.errors import ConfigurationError, DependencyUnavailable


class FakeSecretsManager:
    def __init__(self, value: str | None = "key-1") -> None:
        self.value = value
        self.failure: Exception | None = None
        self.calls = 0

    def get_secret_value(self, SecretId: str) -> dict:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return {"Name": SecretId, "SecretString": self.value} if self.value is not None else {"SecretBinary": b"x"}


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "nope"}}, "GetSecretValue")


@pytest.fixture
def fake():
    return FakeSecretsManager()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(fake, clock):
    return SecretStore("MomentoApiKeySecret", max_age_seconds=300, source=SecretsManagerSource(fake), clock=clock)


def test_the_key_is_fetched_once_within_its_max_age(store, fake, clock):
    first = store.get()
    clock.now += 299

    assert store.get() == first
    assert fake.calls == 1


def test_a_rotated_key_is_picked_up_after_max_age(store, fake, clock):
    store.get()
    fake.value = "key-2"
    clock.now += 301

    assert store.get().api_key.get_secret_value() == "key-2"


def test_force_refresh_reads_the_secret_again(store, fake):
    store.get()
    fake.value = '{"momentoSecret": "key-2"}'

    assert store.get(force_refresh=True).api_key.get_secret_value() == "key-2"
    assert fake.calls == 2


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"])
def test_missing_or_forbidden_secrets_are_configuration_errors(store, fake, code):
    fake.failure = client_error(code)

    with pytest.raises(ConfigurationError) as caught:
        store.get()

    assert code in caught.value.message


def test_binary_secrets_are_refused(store, fake):
    fake.value = None

    with pytest.raises(ConfigurationError, match="SecretString"):
        store.get()


@pytest.mark.parametrize(
    "failure", [client_error("ThrottlingException"), EndpointConnectionError(endpoint_url="https://x")]
)
def test_transient_failures_with_nothing_cached_are_unavailable(store, fake, failure):
    fake.failure = failure

    with pytest.raises(DependencyUnavailable):
        store.get()


def test_transient_failures_keep_serving_the_last_good_key(store, fake, clock):
    store.get()
    fake.failure = client_error("InternalServiceError")
    clock.now += 301

    assert store.get().api_key.get_secret_value() == "key-1"


def test_a_malformed_secret_is_not_masked_by_the_cache(store, fake, clock):
    store.get()
    fake.value = '{"wrong": "shape"}'
    clock.now += 301

    with pytest.raises(ConfigurationError):
        store.get()
