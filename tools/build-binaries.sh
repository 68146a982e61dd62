#!/usr/bin/env bash
# Build the pinned control-plane binaries (kube-apiserver, etcd, helm) from the
# Go module proxy into a cache outside the repository, keyed by version, so a
# second run builds nothing.
#
# kube-apiserver and etcd cannot be `go install`ed directly: their go.mod files
# replace sibling modules with local paths. Each tool gets a small wrapper
# module that requires the release and pins every sibling to its published
# version.
#
# Usage: tools/build-binaries.sh            # build what is missing, print the bin dir
#        tools/build-binaries.sh TOOL...    # build only these (kube-apiserver, etcd, helm,
#                                           # helm4, crane, actionlint), print the bin dir
#        tools/build-binaries.sh --print    # print the bin dir only
#        tools/build-binaries.sh --path TOOL  # print one tool's path (nothing built)
#
# The release tools (helm4, crane, actionlint) live in the same directory under a
# versioned name (helm4-v4.3.2), so bumping one of them rebuilds only that one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/versions.env
source "$here/versions.env"

cache_root="${LLMOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sagemaker-llm-operator}"
bin_dir="$cache_root/bin/k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_helm-${HELM_VERSION}"

# Path of each tool; the release tools carry their version in their name.
tool_path() {
  case "$1" in
    kube-apiserver | etcd | helm) echo "$bin_dir/$1" ;;
    helm4) echo "$bin_dir/helm4-$HELM4_VERSION" ;;
    crane) echo "$bin_dir/crane-$CRANE_VERSION" ;;
    actionlint) echo "$bin_dir/actionlint-$ACTIONLINT_VERSION" ;;
    *) echo "build-binaries: unknown tool $1" >&2; return 1 ;;
  esac
}

if [[ "${1:-}" == "--print" ]]; then
  echo "$bin_dir"
  exit 0
fi
if [[ "${1:-}" == "--path" ]]; then
  tool_path "${2:?--path needs a tool name}"
  exit 0
fi

mkdir -p "$bin_dir"
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false -mod=mod"
export GOTOOLCHAIN=local

log() { echo "build-binaries: $*" >&2; }

timed() {
  # Record wall time and peak memory of one build step.
  local name=$1; shift
  local start=$SECONDS
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f "build-binaries: $name: %e s wall, %M KiB peak RSS" "$@"
  else
    "$@"
  fi
  log "$name built in $((SECONDS - start)) s"
}

# Wrapper modules and partial outputs are named after this process, so builds started
# side by side (several checkouts sharing the cache) never remove each other's.
trap 'rm -rf "$cache_root"/src/*."$$"' EXIT

wrapper_dir() {
  local d="$cache_root/src/$1.$$"
  rm -rf "$d"
  mkdir -p "$d"
  echo "$d"
}

build_kube_apiserver() {
  local out="$bin_dir/kube-apiserver"
  [[ -x "$out" ]] && return 0
  local v="$KUBERNETES_VERSION" staging="v0.${KUBERNETES_VERSION#v1.}"
  local mod
  mod="$(go mod download -json "k8s.io/kubernetes@$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  local d
  d="$(wrapper_dir "kube-apiserver-$v")"
  {
    echo "module local/build/kube-apiserver"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    # Every sibling that Kubernetes requires at v0.0.0 is a staging module:
    # pin it to the published release of the same minor and patch.
    grep -E '^\s+k8s\.io/[A-Za-z0-9._-]+ v0\.0\.0\s*$' "$mod" | awk -v s="$staging" '{print "replace " $1 " => " $1 " " s}'
  } >"$d/go.mod"
  log "resolving kube-apiserver $v modules"
  (cd "$d" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$v" >/dev/null 2>&1 || go get "k8s.io/kubernetes/cmd/kube-apiserver@$v")
  local major minor
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  log "compiling kube-apiserver $v"
  (cd "$d" && timed kube-apiserver go build -trimpath -ldflags "$ldflags" -o "$out.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$out.tmp.$$" "$out"
}

build_etcd() {
  local out="$bin_dir/etcd"
  [[ -x "$out" ]] && return 0
  local v="$ETCD_VERSION"
  local d
  d="$(wrapper_dir "etcd-$v")"
  printf 'module local/build/etcd\n\ngo 1.23\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$v" >"$d/go.mod"
  log "resolving etcd $v modules"
  (cd "$d" && go get "go.etcd.io/etcd/server/v3@$v" >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@$v")
  log "compiling etcd $v"
  (cd "$d" && timed etcd go build -trimpath -ldflags "-s -w" -o "$out.tmp.$$" go.etcd.io/etcd/server/v3)
  mv "$out.tmp.$$" "$out"
}

build_helm() {
  local out="$bin_dir/helm"
  [[ -x "$out" ]] && return 0
  local v="$HELM_VERSION"
  local d
  d="$(wrapper_dir "helm-$v")"
  printf 'module local/build/helm\n\ngo 1.24\n\nrequire helm.sh/helm/v3 %s\n' "$v" >"$d/go.mod"
  log "resolving helm $v modules"
  (cd "$d" && go get "helm.sh/helm/v3/cmd/helm@$v" >/dev/null 2>&1 || go get "helm.sh/helm/v3/cmd/helm@$v")
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$v"
  log "compiling helm $v"
  (cd "$d" && timed helm go build -trimpath -ldflags "$ldflags" -o "$out.tmp.$$" helm.sh/helm/v3/cmd/helm)
  mv "$out.tmp.$$" "$out"
}

# A module whose go.mod has no local replaces: a wrapper module requiring it, then
# `go build` of one package with these ldflags.
build_module_tool() {
  local name=$1 module=$2 version=$3 package=$4 ldflags=$5
  local out
  out="$(tool_path "$name")"
  [[ -x "$out" ]] && return 0
  local d
  d="$(wrapper_dir "$name-$version")"
  printf 'module local/build/%s\n\ngo 1.24\n\nrequire %s %s\n' "$name" "$module" "$version" >"$d/go.mod"
  log "resolving $name $version modules"
  (cd "$d" && go get "$package@$version" >/dev/null 2>&1 || go get "$package@$version")
  log "compiling $name $version"
  (cd "$d" && timed "$name" go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp.$$" "$package")
  mv "$out.tmp.$$" "$out"
}

build_helm4() {
  build_module_tool helm4 helm.sh/helm/v4 "$HELM4_VERSION" helm.sh/helm/v4/cmd/helm \
    "-X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION"
}

build_crane() {
  build_module_tool crane github.com/google/go-containerregistry "$CRANE_VERSION" \
    github.com/google/go-containerregistry/cmd/crane \
    "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$CRANE_VERSION"
}

build_actionlint() {
  build_module_tool actionlint github.com/rhysd/actionlint "$ACTIONLINT_VERSION" \
    github.com/rhysd/actionlint/cmd/actionlint \
    "-X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"
}

command -v go >/dev/null || { log "Go is required (https://go.dev/dl); none found on PATH"; exit 1; }

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(etcd kube-apiserver helm helm4 crane actionlint)
for tool in "${tools[@]}"; do
  tool_path "$tool" >/dev/null
  "build_${tool//-/_}"
done
echo "$bin_dir"
