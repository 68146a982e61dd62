"""The release's version and its artifacts' metadata, from one place.

The version lives in operator/llm_operator/__init__.py (`__version__`): the package
reads it from there (pyproject.toml declares it dynamic), and so do `llm-operator
--version` and the User-Agent the operator sends to AWS. What cannot read it at run
time carries a copy that `set-version` writes and `check` compares: the chart's
version and appVersion, and the default of the image's version label. The release
workflow passes the tag to all of them and refuses a tag that is not `v` + the
version. Standard library only: the release workflow runs it before any install.

    python3 scripts/release.py version                 # print the version
    python3 scripts/release.py check [--tag vX.Y.Z]    # every copy agrees (and the tag)
    python3 scripts/release.py set-version X.Y.Z       # write it everywhere, date the changelog
    python3 scripts/release.py notes [--owner OWNER]   # the GitHub release's text
    python3 scripts/release.py package-chart --helm HELM --destination DIR [--image-repository R]
"""

from __future__ import annotations

import argparse
import datetime
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_INIT = REPO / "operator" / "llm_operator" / "__init__.py"
CHART = REPO / "charts" / "llm-operator"
CHART_YAML = CHART / "Chart.yaml"
VALUES_YAML = CHART / "values.yaml"
DOCKERFILE = REPO / "Dockerfile"
CHANGELOG = REPO / "CHANGELOG.md"
# Where the release workflow publishes, for an owner (lower-case, as GHCR names them).
IMAGE = "ghcr.io/{owner}/sagemaker-llm-operator"
CHART_REPOSITORY = "oci://ghcr.io/{owner}/charts"
DEFAULT_OWNER = "sagemaker-llm-operator"

SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")
_INIT = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
_CHART_FIELD = r'^{field}: "?([^"\n]+)"?$'
_DOCKER_ARG = re.compile(r"^ARG VERSION=(\S+)$", re.MULTILINE)
_IMAGE_REPOSITORY = re.compile(r"^(image:\n(?:  #.*\n)*  repository: )(\S+)$", re.MULTILINE)


class ReleaseError(RuntimeError):
    """A copy of the version disagrees, or the tag or changelog does not fit it."""


def version() -> str:
    """The one version: `__version__` in llm_operator/__init__.py."""
    (found,) = _INIT.findall(PACKAGE_INIT.read_text())
    return str(found)


def chart_field(field: str, text: str | None = None) -> str:
    text = CHART_YAML.read_text() if text is None else text
    (found,) = re.findall(_CHART_FIELD.format(field=field), text, re.MULTILINE)
    return str(found)


def copies() -> dict[str, str]:
    """Every place that states the version, by what it is."""
    (docker,) = _DOCKER_ARG.findall(DOCKERFILE.read_text())
    return {
        "operator/llm_operator/__init__.py __version__": version(),
        "charts/llm-operator/Chart.yaml version": chart_field("version"),
        "charts/llm-operator/Chart.yaml appVersion": chart_field("appVersion"),
        "Dockerfile ARG VERSION": docker,
    }


def changelog_section(wanted: str) -> str:
    """The body of CHANGELOG.md's `## [wanted]` section (wanted: a version or Unreleased)."""
    text = CHANGELOG.read_text()
    heading = re.compile(rf"^## \[{re.escape(wanted)}\].*$", re.MULTILINE)
    found = heading.search(text)
    if found is None:
        raise ReleaseError(f"CHANGELOG.md has no section for [{wanted}]")
    rest = text[found.end() :]
    end = re.search(r"^## \[|^\[[^\]]+\]: ", rest, re.MULTILINE)
    return rest[: end.start() if end else len(rest)].strip()


def check(tag: str | None = None) -> str:
    """The version, once every copy agrees, it is SemVer and, for a tag, the tag is
    `v` + the version and CHANGELOG.md has a non-empty section for it."""
    found = copies()
    current = version()
    differing = {place: v for place, v in found.items() if v != current}
    if differing:
        raise ReleaseError(
            f"the version is {current} but {differing} disagree: "
            "run `python3 scripts/release.py set-version VERSION`"
        )
    if not SEMVER.fullmatch(current):
        raise ReleaseError(f"{current} is not a SemVer version (X.Y.Z)")
    if tag is not None:
        if tag != f"v{current}":
            raise ReleaseError(f"tag {tag} is not v{current}, the version in the tree")
        if not changelog_section(current):
            raise ReleaseError(f"CHANGELOG.md's section for [{current}] is empty")
    return current


def set_version(new: str, *, today: datetime.date | None = None) -> None:
    """Write `new` into every copy and turn CHANGELOG.md's Unreleased section into
    `## [new] - today`, with a fresh empty Unreleased above it."""
    if not SEMVER.fullmatch(new):
        raise ReleaseError(f"{new} is not a SemVer version (X.Y.Z)")
    PACKAGE_INIT.write_text(_INIT.sub(f'__version__ = "{new}"', PACKAGE_INIT.read_text()))
    chart = CHART_YAML.read_text()
    chart = re.sub(r"^version: .*$", f"version: {new}", chart, flags=re.MULTILINE)
    chart = re.sub(r"^appVersion: .*$", f'appVersion: "{new}"', chart, flags=re.MULTILINE)
    CHART_YAML.write_text(chart)
    DOCKERFILE.write_text(_DOCKER_ARG.sub(f"ARG VERSION={new}", DOCKERFILE.read_text()))
    text = CHANGELOG.read_text()
    if re.search(rf"^## \[{re.escape(new)}\]", text, re.MULTILINE):
        return  # already dated
    date = (today or datetime.date.today()).isoformat()
    text = text.replace("## [Unreleased]", f"## [Unreleased]\n\n## [{new}] - {date}", 1)
    compare = re.compile(r"^\[Unreleased\]: (\S+)/compare/v(\S+)\.\.\.HEAD$", re.MULTILINE)
    text = compare.sub(
        lambda m: (
            f"[Unreleased]: {m[1]}/compare/v{new}...HEAD\n[{new}]: {m[1]}/compare/v{m[2]}...v{new}"
        ),
        text,
    )
    CHANGELOG.write_text(text)


def install_commands(owner: str, release: str) -> str:
    """How to install this release: Helm 4 or 3 from the OCI chart, and the signature check."""
    image = IMAGE.format(owner=owner)
    chart = CHART_REPOSITORY.format(owner=owner)
    identity = f"https://github.com/{owner}/sagemaker-llm-operator/.github/workflows/release.yml"
    return "\n".join(
        [
            "```sh",
            f"helm install llm-operator {chart}/llm-operator --version {release} \\",
            "  --namespace llm-operator --create-namespace",
            "```",
            "",
            "Verify the image's signature (keyless, from this repository's release workflow):",
            "",
            "```sh",
            f"cosign verify {image}:{release} \\",
            f"  --certificate-identity {identity}@refs/tags/v{release} \\",
            "  --certificate-oidc-issuer https://token.actions.githubusercontent.com",
            "```",
        ]
    )


def notes(owner: str = DEFAULT_OWNER, release: str | None = None) -> str:
    """The GitHub release's text: the changelog section, then how to install it. Before
    the version has a section of its own (a dry run), the Unreleased one stands in."""
    release = release or version()
    try:
        body = changelog_section(release)
    except ReleaseError:
        body = changelog_section("Unreleased")
    return f"{body}\n\n## Install\n\n{install_commands(owner, release)}\n"


def package_chart(
    helm: Path, destination: Path, *, release: str | None = None, image_repository: str = ""
) -> Path:
    """`helm package` with the chart's version and appVersion set to `release` and, when
    given, the image repository the release pushed to; returns the .tgz."""
    release = release or version()
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch) / CHART.name
        shutil.copytree(CHART, staged)
        if image_repository:
            values = staged / "values.yaml"
            text, count = _IMAGE_REPOSITORY.subn(rf"\g<1>{image_repository}", values.read_text())
            if count != 1:
                raise ReleaseError("values.yaml has no image.repository to set")
            values.write_text(text)
        argv = [str(helm), "package", str(staged), "--destination", str(destination)]
        argv += ["--version", release, "--app-version", release]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ReleaseError(f"helm package failed: {result.stderr.strip()}")
    return destination / f"{CHART.name}-{release}.tgz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version")
    checking = sub.add_parser("check", help="every copy of the version agrees (and the tag)")
    checking.add_argument("--tag", help="the tag being released, e.g. v0.2.0")
    setting = sub.add_parser("set-version", help="write a new version everywhere")
    setting.add_argument("version")
    noting = sub.add_parser("notes", help="print the release notes")
    noting.add_argument("--owner", default=DEFAULT_OWNER)
    packaging = sub.add_parser("package-chart", help="helm package at the version")
    packaging.add_argument("--helm", type=Path, required=True)
    packaging.add_argument("--destination", type=Path, required=True)
    packaging.add_argument("--image-repository", default="")
    packaging.add_argument("--version", help="the release's version (default: the tree's)")
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print(version())
        elif args.command == "check":
            print(check(args.tag))
        elif args.command == "set-version":
            set_version(args.version)
        elif args.command == "notes":
            print(notes(args.owner.lower()), end="")
        else:
            print(
                package_chart(
                    args.helm,
                    args.destination,
                    release=args.version,
                    image_repository=args.image_repository,
                )
            )
    except ReleaseError as error:
        print(f"release.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
