"""``python -m downhill`` is the ``downhill`` command; the short demo is ``python -m downhill.demo``."""

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)


def test_python_m_downhill_is_the_command():
    done = run("-m", "downhill", "--help")
    assert done.returncode == 0 and "Usage: downhill" in done.stdout and "serve" in done.stdout
    done = run("-m", "downhill", "serve", "--help")
    assert done.returncode == 0 and "--workers" in done.stdout and "--time-budget" in done.stdout
    done = run("-m", "downhill", "serve", "--port", "70000")
    assert done.returncode == 2 and "--port must be between 0 and 65535" in done.stderr
    done = run("-m", "downhill", "gradient", "x**2 + y**2", "--at", "3,4", "--json")
    assert done.returncode == 0 and '"gradient"' in done.stdout


def test_the_demo_is_still_there():
    done = run("-m", "downhill.demo")
    assert done.returncode == 0
    for heading in ("1. The derivative", "2. The gradient", "3. Gradient descent", "4. The chain rule",
                    "5. The learning rate"):
        assert heading in done.stdout
