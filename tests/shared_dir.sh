# shared_dir.sh - where ../shared (the official WASI and spec suites) is: beside the project, or beside the repository it was cloned from.
#
# Source it with ROOT set to the project root. The suites are read in place,
# never copied. A clone made elsewhere (`git clone /work/main /tmp/k`) has no
# ../shared of its own, but its origin, a local checkout, has one.

# kl_shared_dir: print the absolute path of the shared folder, or nothing.
kl_shared_dir() {
  local origin
  if [ -d "$ROOT/../shared/testsuites" ]; then (cd "$ROOT/../shared" && pwd); return; fi
  origin=$(git -C "$ROOT" config --get remote.origin.url 2>/dev/null)
  case $origin in
    /*) [ -d "$origin/../shared/testsuites" ] && (cd "$origin/../shared" && pwd) ;;
  esac
}
