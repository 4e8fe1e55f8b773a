"""The secret cache with an in-memory Secrets Manager and a controllable clock."""

import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from token_vending_machine.adapters.secrets import SecretsManagerSource, SecretStore
from token_vending_machine.budget import Deadline
from token_vending_machine.errors import ConfigurationError, DependencyUnavailable
from token_vending_machine.names import ErrorCode


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


class BlockingSource:
    """A source that answers only when the test lets it: a Secrets Manager that hangs."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.reads = 0
        self.value = "key-1"

    def read(self, secret_id: str) -> str:
        self.reads += 1
        self.release.wait(timeout=10)
        return self.value


class FailingSource:
    def __init__(self) -> None:
        self.reads = 0
        self.failing = False

    def read(self, secret_id: str) -> str:
        self.reads += 1
        if self.failing:
            raise DependencyUnavailable("down", code=ErrorCode.SECRET_UNAVAILABLE)
        return "key-1"


def test_a_hanging_source_cannot_keep_a_caller_past_its_deadline():
    source = BlockingSource()
    store = SecretStore("s", max_age_seconds=300, source=source)

    with pytest.raises(DependencyUnavailable) as caught:
        store.get(Deadline.after(0.05))

    assert caught.value.code == ErrorCode.SECRET_UNAVAILABLE
    assert not source.release.is_set()  # answered while the read was still hanging
    source.release.set()


def test_a_forced_reread_is_bounded_by_the_deadline_too():
    source = BlockingSource()
    source.release.set()
    store = SecretStore("s", max_age_seconds=300, source=source)
    store.get()
    source.release.clear()

    with pytest.raises(DependencyUnavailable):
        store.get(Deadline.after(0.05), force_refresh=True)
    source.release.set()


def test_during_an_outage_the_last_good_key_is_served_at_once_and_retried_with_backoff(clock):
    source, stale = FailingSource(), []
    store = SecretStore(
        "s", max_age_seconds=300, source=source, clock=clock, on_stale_key=stale.append, retry_backoff_seconds=(1, 8)
    )
    store.get()
    source.failing = True
    clock.now += 301

    keys = [store.get(Deadline.after(5)).api_key.get_secret_value() for _ in range(5)]

    assert keys == ["key-1"] * 5
    assert source.reads == 2  # the first stale call tried once; the rest waited out the backoff
    assert len(stale) == 5
    clock.now += 1
    store.get(Deadline.after(5))
    wait_for(lambda: source.reads == 3)  # a retry in the background, once the backoff is over


def test_a_hanging_refresh_serves_the_last_good_key_and_stops_blocking_later_calls(clock):
    source, stale = BlockingSource(), []
    source.release.set()
    store = SecretStore("s", max_age_seconds=300, source=source, clock=clock, on_stale_key=stale.append)
    store.get()
    source.release.clear()
    clock.now += 301

    first = store.get(Deadline.after(0.05))
    second = store.get(Deadline.after(0.05))

    assert first == second
    assert first.api_key.get_secret_value() == "key-1"
    assert source.reads == 2  # the second call did not start or wait for another read
    assert stale == ["reading the secret is taking too long", ANY_REASON]
    source.release.set()


def test_the_source_recovering_ends_the_outage(clock):
    source = FailingSource()
    store = SecretStore("s", max_age_seconds=300, source=source, clock=clock, retry_backoff_seconds=(1, 8))
    store.get()
    source.failing = True
    clock.now += 301
    store.get()
    source.failing = False
    clock.now += 1

    store.get()  # starts the background retry
    wait_for(lambda: source.reads == 3)
    clock.now += 1

    assert store.get() is not None
    assert source.reads == 3  # fresh again: no more reads


class _AnyReason:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)


ANY_REASON = _AnyReason()


def wait_for(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met"
        time.sleep(0.005)


def test_a_prefetched_key_is_served_without_another_read(store, fake):
    store.prefetch()

    assert store.get(Deadline.after(5)).api_key.get_secret_value() == "key-1"
    assert store.get().api_key.get_secret_value() == "key-1"
    assert fake.calls == 1


class FailsFirst:
    """A source whose first read fails: an extension not serving yet, say."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.calls = 0
        self.first_done = threading.Event()

    def read(self, secret_id: str) -> str:
        self.calls += 1
        if self.calls == 1:
            self.first_done.set()
            raise self.failure
        return "key-2"


@pytest.mark.parametrize(
    "failure",
    [ConfigurationError("not ready to serve traffic"), DependencyUnavailable("connection refused")],
)
def test_a_failed_prefetch_is_read_again_by_the_first_request(clock, failure):
    source = FailsFirst(failure)
    store = SecretStore("MomentoApiKeySecret", max_age_seconds=300, source=source, clock=clock)
    store.prefetch()
    source.first_done.wait(5)

    assert store.get(Deadline.after(5)).api_key.get_secret_value() == "key-2"
    assert source.calls == 2


def test_a_request_that_joins_a_failing_prefetch_reads_again(clock):
    release = threading.Event()

    class SlowThenFine:
        calls = 0

        def read(self, secret_id: str) -> str:
            self.calls += 1
            if self.calls == 1:
                release.wait(5)
                raise ConfigurationError("not ready to serve traffic")
            return "key-2"

    source = SlowThenFine()
    store = SecretStore("MomentoApiKeySecret", max_age_seconds=300, source=source, clock=clock)
    store.prefetch()
    threading.Timer(0.05, release.set).start()

    assert store.get(Deadline.after(5)).api_key.get_secret_value() == "key-2"
    assert source.calls == 2


def test_a_hanging_prefetch_cannot_keep_the_first_request_past_its_deadline():
    source = BlockingSource()
    store = SecretStore("s", max_age_seconds=300, source=source)
    store.prefetch()

    with pytest.raises(DependencyUnavailable) as caught:
        store.get(Deadline.after(0.05))

    assert caught.value.code == ErrorCode.SECRET_UNAVAILABLE
    assert not source.release.is_set()  # answered while the cold start's read was still hanging
    assert source.reads == 1  # the retry joined the hanging read instead of starting another
    source.release.set()
