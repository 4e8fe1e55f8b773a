"""momento_local: a local Momento token service, topics and cache server that the real SDK talks to over gRPC.

Built on `momento_wire_types` + `grpcio`, it serves `token.Token/GenerateDisposableToken`,
`cache_client.pubsub.Pubsub/{Publish,Subscribe}` and `cache_client.Scs/{Get,Set,Delete}` on
127.0.0.1, for integration tests, the local stack and benchmarks::

    from momento_local import MomentoLocal

    with MomentoLocal(host="127.0.0.1", port=0, caches={"SampleCache"}) as server:  # port 0 = a free port
        server.port, server.endpoint                          # 54321, "127.0.0.1:54321"
        server.add_cache("chat"); server.caches               # frozenset({"SampleCache", "chat"})
        key = server.create_api_key()                         # accepted by this server, full access
        provider = server.credential_provider(key)            # a momento.CredentialProvider

Reaching it with the real SDK: `CredentialProvider(api_key, host, host, host, port)` (what
`local_credential_provider(api_key, "host:port")` builds). Any port other than 443 gives an insecure
channel to host:port, and the key travels in the `authorization` header.
`CredentialProvider.for_momento_local` would send an empty key, which this server refuses.
A vended `auth_token` carries the local endpoint ("127.0.0.1:<port>"), so
`credential_provider_from_auth_token(auth_token)` turns it into a provider
(`CredentialProvider.from_disposable_token` would aim at `cache.<endpoint>:443` over TLS).

Behaviour, faithful to Momento where it matters:

* Keys: `create_api_key()` returns an HS256 JWT with `t: "g"` (shaped like a Momento v2 API key)
  signed with the server's secret (random per server unless `secret=` is given). Unknown, badly
  signed or expired keys get UNAUTHENTICATED.
* GenerateDisposableToken: expiry must be 1 s to 25 h, permissions present, at most 20 statements,
  each cache permission selecting a cache (or all caches) and any item selector naming a key or key
  prefix (INVALID_ARGUMENT otherwise); only API keys may call it (a disposable token gets
  PERMISSION_DENIED).
  The minted `api_key` is an HS256 JWT with `t: "d"`, `sub` (the token id or "momento-local"),
  `ver: 1`, `iat`, `exp`, `tid` (the token id, when given) and `p` (base64 of the serialized
  `permission_messages.Permissions`); `endpoint` is the server's endpoint, `valid_until` = `exp`.
  `server.decode_token(jwt_or_auth_token)` verifies one and returns a `TokenClaims` with its claims,
  token id, expiry and parsed `Permissions`.
* Topics: an API key may publish and subscribe anywhere; a disposable token needs a topic permission
  matching the cache (by name or all caches) and topic (by name, name prefix or all topics) whose
  role allows the action (TopicReadWrite both, TopicReadOnly subscribe, TopicWriteOnly publish),
  else PERMISSION_DENIED. A subscription starts with a heartbeat, sends another every
  `heartbeat_interval_seconds` when idle, delivers text and binary items published after it started
  with increasing sequence numbers (no history is kept), and ends when the client cancels or the
  server stops. Topics accept any cache name (only the cache service below checks that a cache exists).
* Cache: Get, Set (honouring `ttl_milliseconds`; an expired item is a miss) and Delete on the caches
  given as `caches=` (default `{"SampleCache"}`) or added with `add_cache()`; the cache is named by
  the `cache` metadata header, as the SDK's `CacheClient` sends it. An API key may do everything; a
  disposable token needs a cache permission matching the cache (by name or all caches) and the key
  (no item selector or `all_items`: every key; else the exact `key` or a `key_prefix`) whose role
  allows the call (CacheReadWrite all three, CacheReadOnly Get, CacheWriteOnly Set and Delete), else
  PERMISSION_DENIED (the SDK's PERMISSION_ERROR). Then an unknown cache gets NOT_FOUND
  (NOT_FOUND_ERROR), so a token learns nothing about caches outside its grant. Other Scs RPCs answer
  UNIMPLEMENTED.
* gRPC-web, for browsers and `@gomomento/sdk-web`: off unless `web_port=` is given (0 = a free
  port); then `server.web_endpoint` (e.g. "http://127.0.0.1:54322") serves every registered service,
  unary and server-streaming, in gRPC-web text (and binary) mode on the same host, through the same
  servicers (module `grpc_web`). CORS echoes any `Origin` on a loopback host, or only those in
  `web_allowed_origins=`; elsewhere the list is required.
* Faults and counters::

      server.inject_fault("GenerateDisposableToken", grpc.StatusCode.UNAVAILABLE, times=2)
      server.inject_fault("Publish", delay_seconds=0.2)             # slow success (also Get, Set, Delete)
      server.inject_fault("GenerateDisposableToken", delay_seconds=3600, times=None)  # a hang
      server.clear_faults(); server.call_count("GenerateDisposableToken"); server.reset_call_counts()

  A delayed call waits on an Event, so `stop()` releases hung calls at once (they end UNAVAILABLE).
* The gRPC thread pool has `max_workers=64` threads; each open subscription holds one.

Command line: `python -m momento_local --port 0 [--cache NAME ...]` prints the endpoint and a fresh
API key, and stops cleanly on Ctrl-C or SIGTERM.
"""

from .server import MomentoLocal, credential_provider_from_auth_token, local_credential_provider
from .tokens import ExpiredTokenError, InvalidTokenError, TokenClaims

__all__ = [
    "ExpiredTokenError",
    "InvalidTokenError",
    "MomentoLocal",
    "TokenClaims",
    "credential_provider_from_auth_token",
    "local_credential_provider",
]
