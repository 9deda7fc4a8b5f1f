"""A pytest plugin that runs a peer library's own tests against fastgen's drop-ins: before the
test modules import them, it replaces the peer's classes with fastgen's (environment variable
FASTGEN_PEER_SWAP = "module:Name=fastgen_module:Name;..."). Used by the `peer_suite` fixture
of tests/conftest.py, in a subprocess."""
import importlib
import os


def pytest_configure(config):
    for swap in filter(None, os.environ.get("FASTGEN_PEER_SWAP", "").split(";")):
        target, replacement = swap.split("=")
        target_module, target_name = target.split(":")
        module, name = replacement.split(":")
        setattr(importlib.import_module(target_module), target_name, getattr(importlib.import_module(module), name))
