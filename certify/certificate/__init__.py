"""The certificate: its format (JSON, ``format_version`` 1), atomic writes, the environment record."""

from certify.certificate.environment import check_environment, environment, strict_float_torch, torch_threads
from certify.certificate.format import FORMAT_VERSION, Certificate, InputRecord, theorem_record
from certify.certificate.io import atomic_write_bytes, atomic_write_text, utc_timestamp

__all__ = ["FORMAT_VERSION", "Certificate", "InputRecord", "atomic_write_bytes", "atomic_write_text",
           "check_environment", "environment", "strict_float_torch", "theorem_record", "torch_threads",
           "utc_timestamp"]
