"""One exception root: every error numerai-mcp raises for a caller derives from NumeraiMcpError (httpx's model), so
tools and commands catch exactly those and a real bug surfaces as one instead of posing as a user error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numerai_mcp
from numerai_mcp.errors import InvalidInputError, NumeraiMcpError, SetupError

# Exceptions that never reach a caller (control flow inside one module), or that live in files run inside a pinned
# runtime without numerai_mcp (bundle.fileformat's BundleError, caught by name where bundles are read).
INTERNAL = {
    "numerai_mcp.api.client._Transient", "numerai_mcp.harness.scan_machine.Malformed",
    "numerai_mcp.harness.predictions.UnreadablePredictions", "numerai_mcp.emulator.control_api.BadRequest",
    "numerai_mcp.emulator.signing.Denied", "numerai_mcp.emulator.home.LockTimeout",
    "numerai_mcp.emulator.lifetime.AlreadyRunning", "numerai_mcp.demo.StepFailed",
    "numerai_mcp.bundle.fileformat.BundleError",
}
STANDALONE = {"numerai_mcp.harness.runner", "numerai_mcp.emulator.validate_runner", "numerai_mcp.emulator.make_live_data",
              "numerai_mcp.bundle.build_script", "numerai_mcp.__main__"}


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(numerai_mcp.__path__, "numerai_mcp."):
        if info.name in STANDALONE:
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_deliberate_error_has_the_one_root() -> None:
    classes = _exception_classes()
    assert len(classes) > 20
    strays = sorted(name for name, cls in classes.items()
                    if name not in INTERNAL and not issubclass(cls, NumeraiMcpError))
    assert strays == [], f"derive these from NumeraiMcpError (or list them as internal): {strays}"


def test_the_branches_callers_act_on() -> None:
    classes = _exception_classes()
    for name in ("harness.catalogue.UnknownRuntimeError", "harness.validate.ValidationArgumentError",
                 "harness.runtime.PackageNotPinnedError", "commands.runtimes.UsageError"):
        assert issubclass(classes[f"numerai_mcp.{name}"], InvalidInputError), name
    for name in ("harness.interpreters.InterpreterNotFoundError", "harness.runtime.RuntimeProvisionError",
                 "harness.sandbox.SandboxUnavailableError", "harness.docker_backend.DockerUnavailableError",
                 "bundle.build.BuildError"):
        assert issubclass(classes[f"numerai_mcp.{name}"], SetupError), name
    from numerai_mcp.api.errors import NumeraiError
    from numerai_mcp.uploads.gate import UploadRefusedError

    assert issubclass(NumeraiError, NumeraiMcpError) and issubclass(UploadRefusedError, NumeraiMcpError)
    assert issubclass(InvalidInputError, ValueError) and issubclass(SetupError, RuntimeError)


def test_a_bad_python_version_is_an_invalid_input() -> None:
    from numerai_mcp.pyversion import parse_python_version

    try:
        parse_python_version("twelve")
    except InvalidInputError as exc:
        assert "'3.12'" in str(exc)
    else:
        raise AssertionError("accepted 'twelve'")
