# Sourced by the scripts: Debian packages the service and its tests need, installed with apt-get
# when missing and the script runs as root (elsewhere it says which are missing and goes on).
# WeasyPrint (the agreement's PDF) lays out with pango and draws Chinese with the Noto CJK fonts.
PDF_PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"

install_debian_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing Debian packages (install them as root): ${missing[*]}" >&2
  fi
}
