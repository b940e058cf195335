"""The subcommands of `sitting-tracker`. Each module has `add_parser(subparsers)` that
registers it with `run=` set to the function carrying it out."""

from tracker.commands import (
    batch,
    calibrate,
    classify,
    collect,
    dashboard,
    demo,
    emulate,
    export,
    forget,
    scan,
    service,
    status,
    stream,
    train,
)

COMMANDS = (classify, train, export, collect, status, service, calibrate, dashboard, demo,
            scan, stream, emulate, batch, forget)
