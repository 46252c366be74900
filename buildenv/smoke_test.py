"""Smoke test run inside the clean runtime container against an installed TensorFlow wheel.

Works for real TensorFlow and for the project's TensorFlow-shaped fixture alike: import,
version, a small computation, build info. Prints one JSON line with what it found.
"""

import json
import sys
import time

expected = sys.argv[1] if len(sys.argv) > 1 else ""
started = time.monotonic()
import tensorflow as tf  # noqa: E402

import_s = time.monotonic() - started
result = {"version": tf.__version__, "import_seconds": round(import_s, 2)}
# tf-nightly says "2.21.0-dev20251020" where its wheel says 2.21.0.dev20251020: compare PEP 440's way.
if expected and tf.__version__.replace("-dev", ".dev").replace("-rc", "rc") != expected:
    print(json.dumps({**result, "error": f"__version__ is {tf.__version__}, expected {expected}"}))
    sys.exit(1)
x = tf.ones((64, 64))
total = float(tf.reduce_sum(tf.linalg.matmul(x, x)))
result["matmul_sum"] = total
if total != 64.0 * 64 * 64:
    print(json.dumps({**result, "error": f"64x64 matmul summed to {total}, expected 262144"}))
    sys.exit(1)
info = tf.sysconfig.get_build_info()
result["build_info"] = {str(k): v if isinstance(v, (bool, int, str)) else str(v) for k, v in info.items()}
print("TFWB-SMOKE " + json.dumps(result))
