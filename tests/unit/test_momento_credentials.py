"""Keys that cannot become Momento credentials fail before any request is sent."""

import pytest
from pydantic import SecretStr

from tests.unit.test_models import V2_KEY
from token_vending_machine.adapters.momento import MomentoTokenIssuer
from token_vending_machine.budget import Deadline
from token_vending_machine.errors import ConfigurationError
from token_vending_machine.models import MomentoKey, Permission, TopicGrant

SCOPE = (TopicGrant("cache", "topic", Permission.PUBLISH_SUBSCRIBE),)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (MomentoKey(api_key=SecretStr(V2_KEY)), "without its endpoint"),
        (MomentoKey(api_key=SecretStr("not-a-momento-key")), "not hold a usable Momento API key"),
    ],
)
def test_unusable_keys_are_configuration_errors(key, reason):
    issuer = MomentoTokenIssuer(timeout_seconds=1, max_attempts=1)

    with pytest.raises(ConfigurationError, match=reason) as caught:
        issuer.issue(key, SCOPE, expires_in_seconds=60, deadline=Deadline.after(1))

    assert V2_KEY not in caught.value.message
