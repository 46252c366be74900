"""The build key: a content hash of everything that decides the wheel's bytes.

Same key, same wheel: `build` skips when the output dir already holds a wheel with this key.
Inputs are the resolved source commit, the patches' contents, configure answers, the Bazel
command line (with the builder image id in it) and the Bazel environment, the builder image id,
Python, repair policy, wheel name and build tag, the recipe (with its version), and the time stamped
on the wheel's files: a SOURCE_DATE_EPOCH given in the environment is in the key as given; the
default, the source commit's committer time, is a function of the commit and adds nothing. Not in
it: paths on the host, the output dir, jobs/RAM (they change speed, not the result), the build id
and the wall clock (neither reaches the wheel).

KEY_VERSION changes whenever the same inputs would give other wheel bytes than before (2: file
times pinned to SOURCE_DATE_EPOCH, file modes normalised, no build id in the stamp; 3: a CycloneDX
SBOM in .dist-info/sboms).
"""

from __future__ import annotations

import hashlib
import json
import re

from tfwheelbuild.plan import BUILDER_ID, BuildPlan

KEY_VERSION = 3
# Flags that change how fast Bazel works, not what it builds.
# Remote caching and execution change where results come from, not what they are (every action
# is keyed by its inputs, the builder image id among them).
_SPEED_FLAGS = re.compile(r"^--(jobs|local_ram_resources|local_cpu_resources|disk_cache|repository_cache|"
                          r"show_progress_rate_limit|color|curses|remote_cache|remote_upload_local_results|"
                          r"remote_executor|remote_instance_name)=")


def key_material(plan: BuildPlan, commit: str, builder_id: str) -> dict[str, object]:
    builder = builder_id.removeprefix("sha256:")
    bazel = [a.replace(BUILDER_ID, builder) for a in plan.compile.bazel_build if not _SPEED_FLAGS.match(a)]
    return {
        "key_version": KEY_VERSION,
        "tensorflow": plan.tf_version,
        "python": plan.python,
        "source_commit": commit,
        "patches": [p.sha256 for p in plan.patches],
        "configure": dict(plan.configure_env),
        "bazel": {"startup": list(plan.compile.bazel_startup), "build": bazel, "target": plan.compile.target,
                  # which of the two is used follows from the checkout (commit and patches, both keyed)
                  "release": [plan.compile.release_config, *plan.compile.release_equivalent],
                  "package": list(plan.compile.package_cmd),
                  "env": {k: v for k, v in plan.compile.env if k in ("BAZELISK_BASE_URL", "USE_BAZEL_VERSION")}},
        "builder_id": builder_id,
        "repair": {"plat": plan.repair.plat, "exclude": sorted(plan.repair.exclude),
                   "build_tag": plan.repair.build_tag},
        "wheel_name": plan.wheel_name,
        "recipe": plan.recipe.to_dict(),
        "source_date_epoch": plan.source_date_epoch or "commit",
    }


def build_key(plan: BuildPlan, commit: str, builder_id: str) -> str:
    material = json.dumps(key_material(plan, commit, builder_id), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()
