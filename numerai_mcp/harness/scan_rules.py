"""Which pickled references and calls mean code would run, or harm be done, while loading.

A model-upload pickle legitimately references cloudpickle, numpy, pandas, lightgbm and a few
builtins; it has no reason to reach a shell, the network, the file system or the import
machinery at load time. These tables name the globals that do, so the scanner can refuse
a pickle before anything unpickles it. They are hints about *load time* only: what the
function body does when called is left to the sandbox.
"""

from __future__ import annotations

# module -> names that are dangerous; "*" = every name in that module
DANGEROUS_GLOBALS: dict[str, frozenset[str]] = {
    # processes and the shell (os.system is posix.system on Linux, nt.system on Windows)
    **dict.fromkeys(
        ("os", "posix", "nt"),
        frozenset(
            "system popen execl execle execlp execlpe execv execve execvp execvpe spawnl spawnle spawnlp spawnlpe "
            "spawnv spawnve spawnvp spawnvpe posix_spawn posix_spawnp fork forkpty kill killpg startfile "
            "remove unlink rmdir removedirs rename renames replace truncate chmod chown lchown fchmod symlink link "
            "putenv unsetenv setuid setgid seteuid setegid setreuid setregid write open fdopen dup2 "
            "mkfifo mknod makedirs mkdir chdir chroot".split()
        ),
    ),
    "subprocess": frozenset({"*"}),
    "_posixsubprocess": frozenset({"*"}),
    "pty": frozenset({"*"}),
    "asyncio.subprocess": frozenset({"*"}),
    "platform": frozenset({"popen"}),
    "commands": frozenset({"*"}),  # Python 2
    # code execution and imports
    "builtins": frozenset(
        "exec eval compile __import__ open execfile breakpoint setattr delattr globals locals vars".split()
    ),
    "importlib": frozenset({"import_module", "__import__", "reload"}),
    "importlib.util": frozenset({"*"}),
    "importlib.machinery": frozenset({"*"}),
    "imp": frozenset({"*"}),
    "runpy": frozenset({"*"}),
    "code": frozenset({"*"}),
    "codeop": frozenset({"*"}),
    "timeit": frozenset({"*"}),  # timeit.timeit runs a string
    "pdb": frozenset({"*"}),
    "ctypes": frozenset({"*"}),
    "_ctypes": frozenset({"*"}),
    "cffi": frozenset({"*"}),
    "marshal": frozenset({"loads", "load"}),
    "pickle": frozenset({"loads", "load", "Unpickler", "_loads", "_load"}),
    "_pickle": frozenset({"*"}),
    "dill": frozenset({"loads", "load"}),
    "cloudpickle": frozenset({"loads", "load"}),
    "types": frozenset({"CodeType", "FunctionType"}),
    "sys": frozenset({"modules", "settrace", "setprofile", "addaudithook", "exit"}),
    "signal": frozenset({"*"}),
    "multiprocessing": frozenset({"*"}),
    "_thread": frozenset({"*"}),
    # files
    "shutil": frozenset({"*"}),
    "io": frozenset({"open", "FileIO", "open_code"}),
    "_io": frozenset({"open", "FileIO", "open_code"}),
    # network
    "socket": frozenset({"*"}),
    "_socket": frozenset({"*"}),
    "ssl": frozenset({"*"}),
    "urllib.request": frozenset({"*"}),
    "http.client": frozenset({"*"}),
    "ftplib": frozenset({"*"}),
    "smtplib": frozenset({"*"}),
    "telnetlib": frozenset({"*"}),
    "xmlrpc.client": frozenset({"*"}),
    "webbrowser": frozenset({"*"}),
    "requests": frozenset({"*"}),
    "requests.api": frozenset({"*"}),
    "httpx": frozenset({"*"}),
    "urllib3": frozenset({"*"}),
    "aiohttp": frozenset({"*"}),
}

# Python-2 module spellings that the unpickler maps (kept for pickles read without fix_imports)
DANGEROUS_GLOBALS["__builtin__"] = DANGEROUS_GLOBALS["builtins"]

# Attribute names that make a dynamic `getattr(x, name)` dangerous whatever x is.
DANGEROUS_ATTRIBUTES = frozenset(
    "system popen Popen call check_call check_output run exec eval compile __import__ import_module "
    "spawnl spawnv execv execve fork kill remove unlink rmtree open urlopen connect create_connection "
    "socket loads load __reduce__ __reduce_ex__ __globals__ __builtins__ __subclasses__ __code__".split()
)

# Names in a function's code that hint at shell, network or file access when it is called.
SUSPICIOUS_CODE_NAMES = frozenset(
    "system popen Popen check_output check_call subprocess urlopen urlretrieve socket create_connection "
    "requests httpx rmtree unlink remove exec eval __import__ import_module".split()
)

# `feature_*` words that are library keys, not live-data columns (LightGBM model text and params,
# scikit-learn attributes and modules, XGBoost JSON): the scan's feature list leaves them out.
NOT_FEATURE_NAMES = frozenset(
    "feature_fraction feature_fraction_bynode feature_fraction_seed feature_pre_filter feature_contri "
    "feature_penalty feature_names feature_name feature_name_ feature_infos feature_importances "
    "feature_importances_ feature_importance_type feature_names_in feature_names_in_ feature_names_out "
    "feature_types feature_weights feature_selector feature_idx feature_range feature_extraction "
    "feature_selection feature_count feature_count_ feature_log_prob feature_log_prob_ "
    "feature_interaction_constraints".split()
)

# cloudpickle's own helpers: a call of their result is how legitimate pickles rebuild things
CLOUDPICKLE_CALLABLE_FACTORIES = frozenset({"_builtin_type", "_make_skeleton_enum"})


def is_dangerous_global(module: str, name: str) -> bool:
    """Is `module.name` on the dangerous list? Submodules of modules listed whole count too."""
    names = DANGEROUS_GLOBALS.get(module)
    if names is None:
        names = DANGEROUS_GLOBALS.get(module.split(".", 1)[0])
        return bool(names) and "*" in names
    return "*" in names or name.split(".", 1)[0] in names
