# Run by the standalone `sinkbridge` binary right after it starts its embedded interpreter,
# before anything is imported: an active virtual environment's packages become importable
# (sinkbridge itself included), as they would be for that environment's own python.
import os
import site
import sys

venv = os.environ.get("VIRTUAL_ENV")
if venv and os.path.isdir(venv):
    site_packages = os.path.join(venv, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
    include_system = False
    try:
        with open(os.path.join(venv, "pyvenv.cfg")) as cfg:
            for line in cfg:
                key, _, value = line.partition("=")
                if key.strip() == "include-system-site-packages":
                    include_system = value.strip().lower() == "true"
    except OSError:
        pass
    before = list(sys.path)
    site.addsitedir(site_packages)
    added = [p for p in sys.path if p not in before]
    kept = [p for p in before if include_system or not p.rstrip("/").endswith(("site-packages", "dist-packages"))]
    sys.path[:] = kept + added
    sys.prefix = sys.exec_prefix = venv
    sys.executable = os.path.join(venv, "bin", "python")
