from pathlib import Path


def test_tree_has_every_package(generated_tree: Path) -> None:
    packages = sorted(p.name for p in generated_tree.iterdir() if p.is_dir())
    assert "posthog_task_runs" in packages
    assert "keywords" in packages


def test_posthog_modules_import(load) -> None:  # type: ignore[no-untyped-def]
    rest = load("posthog_task_runs.rest")
    assert callable(rest.create_app)
