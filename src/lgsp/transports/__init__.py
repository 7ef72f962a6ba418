"""Adapters that carry the contracts: VXP request signing (more to come: REST, SOAP, auth)."""

from lgsp.transports.vxp_signing import sdk_file_hash, sdk_timestamp, sign_request

__all__ = ["sdk_file_hash", "sdk_timestamp", "sign_request"]
