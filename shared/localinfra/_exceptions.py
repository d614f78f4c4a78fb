"""Local infrastructure errors.

InfraError
├── InfraNotInstalled    the server binary is missing (install the ``localinfra`` extra)
└── InfraStartFailed     a server exited or did not answer in time (its log tail is attached)
"""


class InfraError(Exception):
    pass


class InfraNotInstalled(InfraError):
    pass


class InfraStartFailed(InfraError):
    pass
