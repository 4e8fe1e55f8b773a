"""local_stack: the whole token vending machine on one machine, for a first look and for end-to-end tests.

    from local_stack import LocalStack

    with LocalStack(port=0) as stack:     # moto Secrets Manager + local Momento + HTTP front door
        httpx.post(stack.url, json={"cacheName": "SampleCache", "topicName": "sample-topic"})

`tvm-local` (``python -m local_stack``) runs it from a terminal; see ``stack.py`` and ``front_door.py``.
"""

from .front_door import EventKind, FrontDoor
from .stack import LocalStack, LocalStackError, RealMomento

__all__ = ["EventKind", "FrontDoor", "LocalStack", "LocalStackError", "RealMomento"]
