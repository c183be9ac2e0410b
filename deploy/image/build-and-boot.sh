#!/usr/bin/env bash
# Builds deploy/Dockerfile with podman (buildah underneath, --isolation chroot) and proves the
# image: it runs as a non-root user, and its filesystem, run with chroot as that user, answers
# /readyz. No registry is reachable here, so the Node 24 base image is made locally: a Debian
# bookworm minbase made by mmdebstrap, with the Node binary the project pins (the `node`
# devDependency) and npm from the npm registry. Prints the image's size.
#
#   bash deploy/image/build-and-boot.sh          (as root; needs podman, buildah, mmdebstrap)
#
# IMAGE names the result (default localhost/emporium:ci).
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=localhost/emporium-node:24
IMAGE=${IMAGE:-localhost/emporium:ci}
WORK=$(mktemp -d /tmp/emporium-image.XXXXXX)
ROOTFS="$WORK/rootfs"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  mountpoint -q "$ROOTFS/proc" 2>/dev/null && umount "$ROOTFS/proc" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! podman image exists "$BASE"; then
  echo "== base image $BASE: Debian bookworm (mmdebstrap) with Node $(node_modules/.bin/node --version)"
  cp node_modules/node/bin/node "$WORK/node"
  strip "$WORK/node"
  npm pack npm@11 --silent --pack-destination "$WORK" >/dev/null
  mv "$WORK"/npm-*.tgz "$WORK/npm.tgz"
  # The base trusts what the machine building it trusts: npm inside the build reaches the registry
  # through this machine's egress, whose certificate authorities are local ones.
  trust=()
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    trust=(--customize-hook='sync-in /usr/local/share/ca-certificates /usr/local/share/ca-certificates'
      --customize-hook='chroot "$1" update-ca-certificates >/dev/null')
  fi
  mmdebstrap --quiet --variant=minbase --include=ca-certificates --mode=root "${trust[@]}" \
    --customize-hook="copy-in $WORK/node /usr/local/bin" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf $WORK/npm.tgz -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" useradd --uid 1000 --user-group --create-home --shell /bin/sh node' \
    --customize-hook='rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/var/cache/apt/*' \
    bookworm "$WORK/base.tar" http://deb.debian.org/debian
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' "$WORK/base.tar" "$BASE" >/dev/null
  rm -f "$WORK/base.tar"
fi

echo "== building $IMAGE from deploy/Dockerfile"
started=$(date +%s)
podman build --quiet --format docker --isolation chroot --build-arg "NODE_IMAGE=$BASE" -f deploy/Dockerfile -t "$IMAGE" . >/dev/null
echo "built in $(($(date +%s) - started)) s"

user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image $IMAGE: $((size / 1000000)) MB, runs as user '$user'"
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] || { echo "the image runs as root"; exit 1; }

echo "== booting the image's filesystem with chroot"
container=$(podman create --no-healthcheck "$IMAGE")
mkdir -p "$ROOTFS"
podman export "$container" | tar -x -C "$ROOTFS"
podman rm --force "$container" >/dev/null
uid=$(chroot "$ROOTFS" id -u "$user")
[ "$uid" != 0 ] || { echo "user '$user' is root inside the image"; exit 1; }
mount -t proc proc "$ROOTFS/proc" 2>/dev/null || true
# What the image would run: its working directory, environment, entrypoint and command.
config=$(podman image inspect --format '{{json .Config}}' "$IMAGE")
field() { node -e 'const c = JSON.parse(process.argv[1]); process.stdout.write(eval(process.argv[2]).map((word) => `${word}\0`).join(""))' "$config" "$1"; }
mapfile -d '' -t image_env < <(field 'c.Env ?? []')
mapfile -d '' -t image_command < <(field '[...(c.Entrypoint ?? []), ...(c.Cmd ?? [])]')
mapfile -d '' -t workdir < <(field '[c.WorkingDir || "/"]')
port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
# Production, as the image sets it, so a payment provider must be named: the sandbox, by name.
chroot --userspec="$uid:$uid" "$ROOTFS" /usr/bin/env -i "${image_env[@]}" \
  HOST=127.0.0.1 PORT="$port" PAYMENTS_PROVIDER=sandbox SEED_PRODUCTS=20 LOG_LEVEL=warn \
  EMPORIUM_ADMIN_EMAIL=admin@image.test EMPORIUM_ADMIN_PASSWORD=image-check-password \
  /bin/sh -c 'cd "$0" && exec "$@"' "${workdir[0]}" "${image_command[@]}" >"$WORK/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >"$WORK/ready.json" 2>/dev/null; then
    echo "/readyz answered 200 as uid $uid: $(cat "$WORK/ready.json")"
    curl -fsS "http://127.0.0.1:$port/v1/products?limit=1" >/dev/null
    echo "the catalog answers from the image's own PGlite in /data"
    exit 0
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 1
done
echo "the image's server did not become ready; its log:"
cat "$WORK/server.log"
exit 1
