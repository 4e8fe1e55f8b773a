"""local_stack: the whole token vending machine on one machine, for a first look and for end-to-end tests.

    from local_stack import LocalStack

    with LocalStack(port=0) as stack:     # moto Secrets Manager + local Momento + HTTP front door
        httpx.post(stack.url, json={"cacheName": "SampleCache", "topicName": "sample-topic"})

`tvm-local` (``python -m local_stack``) runs it from a terminal; see ``stack.py``, ``front_door.py`` (the HTTP
server) and ``events.py`` (HTTP request → Lambda event → HTTP response).
"""

from .events import EventKind
from .front_door import LocalFrontDoor
from .stack import LocalStack, LocalStackError, RealMomento

__all__ = ["EventKind", "LocalFrontDoor", "LocalStack", "LocalStackError", "RealMomento"]
