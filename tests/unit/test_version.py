"""One version names a release everywhere (scripts/release.py): the package, the CLI,
the chart, the image label and what the release workflow publishes; CHANGELOG.md keeps
the Keep a Changelog form the release notes are cut from."""

from __future__ import annotations

import datetime
import importlib.metadata
import re
import shutil
from pathlib import Path

import pytest
import yaml
from scripts import release

import llm_operator
from llm_operator import cli

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def test_every_copy_of_the_version_agrees() -> None:
    assert release.check() == llm_operator.__version__
    assert set(release.copies().values()) == {llm_operator.__version__}
    # What pip installed (the package metadata) says the same.
    assert importlib.metadata.version("sagemaker-llm-operator") == llm_operator.__version__


def test_cli_says_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"llm-operator {release.version()}"


def test_the_image_label_and_the_chart_image_take_the_version() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'org.opencontainers.image.version="${VERSION}"' in dockerfile
    assert re.search(rf"^ARG VERSION={re.escape(release.version())}$", dockerfile, re.M)
    chart = yaml.safe_load(release.CHART_YAML.read_text())
    values = yaml.safe_load(release.VALUES_YAML.read_text())
    assert values["image"]["tag"] == ""  # the image tag defaults to appVersion
    assert chart["appVersion"] == chart["version"] == release.version()


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of every file that states the version, which release.py then works on."""
    for name in ("PACKAGE_INIT", "CHART_YAML", "VALUES_YAML", "DOCKERFILE", "CHANGELOG"):
        original: Path = getattr(release, name)
        copy = tmp_path / original.relative_to(REPO)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(original, copy)
        monkeypatch.setattr(release, name, copy)
    return tmp_path


def test_a_copy_that_disagrees_is_refused(tree: Path) -> None:
    chart = release.CHART_YAML.read_text()
    release.CHART_YAML.write_text(
        re.sub(r"^appVersion: .*$", 'appVersion: "9.9.9"', chart, flags=re.M)
    )
    with pytest.raises(release.ReleaseError, match=r"Chart.yaml appVersion.*9\.9\.9"):
        release.check()


def test_a_tag_that_is_not_the_version_is_refused(tree: Path) -> None:
    version = release.version()
    assert release.check(f"v{version}") == version
    for tag in (version, "v9.9.9", f"v{version}-rc.1"):
        with pytest.raises(release.ReleaseError, match="is not v"):
            release.check(tag)


def test_set_version_writes_every_copy_and_dates_the_changelog(tree: Path) -> None:
    before = release.version()
    # Whatever the tree's Unreleased section holds, this release notes one fix alone.
    release.CHANGELOG.write_text(
        re.sub(
            r"## \[Unreleased\]\n.*?(?=\n## \[)",
            "## [Unreleased]\n\n### Fixed\n\n- Something.\n",
            release.CHANGELOG.read_text(),
            count=1,
            flags=re.S,
        )
    )
    release.set_version("7.8.9", today=datetime.date(2030, 1, 2))
    assert set(release.copies().values()) == {"7.8.9"}
    assert release.check("v7.8.9") == "7.8.9"
    assert release.changelog_section("7.8.9") == "### Fixed\n\n- Something."
    assert release.changelog_section("Unreleased") == ""
    text = release.CHANGELOG.read_text()
    assert "## [7.8.9] - 2030-01-02" in text
    assert f"/compare/v{before}...v7.8.9" in text
    assert "[Unreleased]: " in text and "/compare/v7.8.9...HEAD" in text
    with pytest.raises(release.ReleaseError, match="SemVer"):
        release.set_version("7.8")


def test_changelog_keeps_a_changelog_form() -> None:
    text = release.CHANGELOG.read_text()
    assert text.startswith("# Changelog\n")
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    versions = [name for name, _ in headings[1:]]
    assert versions, "no released version"
    for name, rest in headings[1:]:
        assert release.SEMVER.fullmatch(name), name
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), f"[{name}] has no date"
        assert release.changelog_section(name), f"[{name}] is empty"
    keys = [tuple(int(p) for p in re.findall(r"\d+", v)[:3]) for v in versions]
    assert keys == sorted(keys, reverse=True), "newest first"
    links = set(re.findall(r"^\[([^\]]+)\]: https://\S+$", text, re.M))
    assert {"Unreleased", *versions} <= links
    for kind in re.findall(r"^### (.+)$", text, re.M):
        assert kind in {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_release_notes_hold_the_changelog_section_and_how_to_install() -> None:
    version = release.version()
    notes = release.notes("Some-Owner".lower())
    assert notes.startswith(release.changelog_section(version))
    chart = f"oci://ghcr.io/some-owner/charts/llm-operator --version {version}"
    assert f"helm install llm-operator {chart}" in notes
    assert f"cosign verify ghcr.io/some-owner/sagemaker-llm-operator:{version}" in notes
    assert f"release.yml@refs/tags/v{version}" in notes


def workflow(name: str) -> dict[str, object]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_workflows_pin_actions_by_commit_and_grant_nothing_by_default(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    uses = [line for line in text.splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert uses
    for line in uses:
        assert SHA_PIN.match(line), f"not pinned by commit SHA with its version: {line.strip()}"
    loaded = workflow(name)
    assert loaded["permissions"] == {}
    jobs = loaded["jobs"]
    assert isinstance(jobs, dict)
    for job in jobs.values():
        assert "permissions" in job  # each job names what it needs


def steps(job: str) -> dict[str, dict[str, object]]:
    jobs = workflow("release.yml")["jobs"]
    assert isinstance(jobs, dict)
    return {step.get("name") or step["uses"].split("@")[0]: step for step in jobs[job]["steps"]}


def test_release_publishes_what_the_version_says() -> None:
    published = steps("publish")
    check = published["Version (the tag is v + the tree's version, with a changelog section)"]
    assert 'scripts/release.py check --tag "$TAG"' in str(check["run"])
    image = published["Image for both platforms, pushed"]["with"]
    assert isinstance(image, dict)
    assert image["platforms"] == "linux/amd64,linux/arm64"
    assert image["push"] is True and image["sbom"] is True
    assert "VERSION=${{ steps.version.outputs.version }}" in image["build-args"]
    for key in ("source", "revision", "version"):
        assert f"org.opencontainers.image.{key}=" in image["labels"]
    chart = str(published["Chart, packaged at the version"]["run"])
    assert "scripts/release.py package-chart" in chart
    assert "cosign sign --yes" in str(published["Sign the image (keyless)"]["run"])
    assert '"$HELM" push "$CHART" "oci://$CHARTS"' in str(
        published["Push and sign the chart"]["run"]
    )
    assert "--notes-file dist/notes.md" in str(published["GitHub release"]["run"])


def test_dry_run_does_everything_up_to_the_push() -> None:
    published, dry = steps("publish"), steps("dry-run")
    image = dry["Image for both platforms, not pushed"]["with"]
    assert isinstance(image, dict)
    assert image["push"] is False
    pushed = published["Image for both platforms, pushed"]["with"]
    assert isinstance(pushed, dict)
    for key in ("context", "platforms", "sbom", "provenance", "labels"):
        assert image[key] == pushed[key], key
    assert "package-chart" in str(dry["Chart, packaged as the tag would package it"]["run"])
    assert str(dry["SBOM of that environment"]["uses"]).startswith("anchore/sbom-action@")
