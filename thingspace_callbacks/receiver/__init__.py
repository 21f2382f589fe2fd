"""Receive the notifications ThingSpace POSTs to your callback listeners.

:class:`Receiver` is an ASGI app that verifies each message (:class:`BodyCredentials`,
:class:`HmacSignature`, :class:`SourceAllowList`), parses it into a typed model
(:func:`parse_message`), drops re-sends of messages already handled (in this process,
or across processes with a :class:`ClaimingDedupeStore` such as
``thingspace_callbacks.redis.RedisDedupeStore``), and awaits your handler, which
receives only the message model it declares; it acknowledges only after the handler
succeeded, and bounds how long and how large each request may be. Serving
it needs an ASGI server (``pip install "thingspace-callbacks[receiver]"``); the
verification and parsing pieces need nothing beyond the core SDK.
"""

from __future__ import annotations

from .._constants import SHARED_SECRET_HEADER as SHARED_SECRET_HEADER
from .._constants import SIGNATURE_HEADER as SIGNATURE_HEADER
from .._constants import THINGSPACE_SOURCE_IPS as THINGSPACE_SOURCE_IPS
from .._exports import publish
from .._redact import redact as redact
from .._redact import redact_url as redact_url
from ._app import Receiver as Receiver
from ._body import DEFAULT_BODY_TIMEOUT as DEFAULT_BODY_TIMEOUT
from ._claims import DEFAULT_HANDLER_TIMEOUT as DEFAULT_HANDLER_TIMEOUT
from ._claims import UNAVAILABLE_RETRY_AFTER as UNAVAILABLE_RETRY_AFTER
from ._dedupe import Claim as Claim
from ._dedupe import ClaimingDedupeStore as ClaimingDedupeStore
from ._dedupe import ClaimOutcome as ClaimOutcome
from ._dedupe import DedupeStore as DedupeStore
from ._dedupe import MemoryDedupeStore as MemoryDedupeStore
from ._dedupe import default_dedupe_key as default_dedupe_key
from ._errors import ForbiddenSourceError as ForbiddenSourceError
from ._errors import InvalidCredentialsError as InvalidCredentialsError
from ._errors import InvalidSignatureError as InvalidSignatureError
from ._errors import MalformedMessageError as MalformedMessageError
from ._errors import MessageTypeError as MessageTypeError
from ._errors import PayloadTooLargeError as PayloadTooLargeError
from ._errors import ReceiverError as ReceiverError
from ._errors import RequestTimeoutError as RequestTimeoutError
from ._errors import VerificationError as VerificationError
from ._models import CallbackMessage as CallbackMessage
from ._models import ConnectivityMessage as ConnectivityMessage
from ._models import DeviceId as DeviceId
from ._models import DiagnosticsMessage as DiagnosticsMessage
from ._models import FaultResponse as FaultResponse
from ._models import FirmwareInfo as FirmwareInfo
from ._models import FirmwareMessage as FirmwareMessage
from ._models import GenericMessage as GenericMessage
from ._models import LocationError as LocationError
from ._models import LocationMessage as LocationMessage
from ._models import PositionData as PositionData
from ._models import UpgradeInfo as UpgradeInfo
from ._models import UpgradeStatus as UpgradeStatus
from ._outcome import DeliveryOutcome as DeliveryOutcome
from ._parse import CONNECTIVITY_SERVICES as CONNECTIVITY_SERVICES
from ._parse import decode_body as decode_body
from ._parse import parse_message as parse_message
from ._request import InboundRequest as InboundRequest
from ._routing import Handler as Handler
from ._verify import AnyOf as AnyOf
from ._verify import BodyCredentials as BodyCredentials
from ._verify import HmacSignature as HmacSignature
from ._verify import SourceAllowList as SourceAllowList
from ._verify import Verifier as Verifier
from ._verify import sign_body as sign_body
from ._verify import verify_credentials as verify_credentials
from ._verify import verify_signature as verify_signature

__all__ = (
    "CONNECTIVITY_SERVICES",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HANDLER_TIMEOUT",
    "SHARED_SECRET_HEADER",
    "SIGNATURE_HEADER",
    "THINGSPACE_SOURCE_IPS",
    "UNAVAILABLE_RETRY_AFTER",
    "AnyOf",
    "BodyCredentials",
    "CallbackMessage",
    "Claim",
    "ClaimOutcome",
    "ClaimingDedupeStore",
    "ConnectivityMessage",
    "DedupeStore",
    "DeliveryOutcome",
    "DeviceId",
    "DiagnosticsMessage",
    "FaultResponse",
    "FirmwareInfo",
    "FirmwareMessage",
    "ForbiddenSourceError",
    "GenericMessage",
    "Handler",
    "HmacSignature",
    "InboundRequest",
    "InvalidCredentialsError",
    "InvalidSignatureError",
    "LocationError",
    "LocationMessage",
    "MalformedMessageError",
    "MemoryDedupeStore",
    "MessageTypeError",
    "PayloadTooLargeError",
    "PositionData",
    "Receiver",
    "ReceiverError",
    "RequestTimeoutError",
    "SourceAllowList",
    "UpgradeInfo",
    "UpgradeStatus",
    "VerificationError",
    "Verifier",
    "decode_body",
    "default_dedupe_key",
    "parse_message",
    "redact",
    "redact_url",
    "sign_body",
    "verify_credentials",
    "verify_signature",
)

publish(globals(), __all__, module=__name__)  # reprs and tracebacks name this module
