"""A module preloaded into the zygote (`HERO_LOGIC_PRELOAD`) that changes
the environment as it is imported: no run may see the change, since a cold
run, which never imported it, would not."""
import os

os.environ["HERO_PRELOAD_MEDDLED"] = "yes"
os.environ.pop("HERO_KEPT_FROM_START", None)
