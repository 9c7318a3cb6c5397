"""Tests of downhill's autodiff engine (a package so its module names never clash with other test folders)."""
