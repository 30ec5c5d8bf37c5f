# syntax=docker/dockerfile:1
# The Orion operator image: `orion run --kube` with Ansible, an SSH client and OpenTofu beside it.
#   docker build -t ghcr.io/orion-lab/orion:0.1.0 .
# Stages: tofu (OpenTofu built from its Go module) · build (TypeScript → dist/, production node_modules) · runtime.

ARG NODE_IMAGE=node:20-bookworm-slim
# OpenTofu 1.12 needs Go >= 1.26 (its go.mod says `go 1.26.6`).
ARG GO_IMAGE=golang:1.26-bookworm

# ---------------------------------------------------------------------------------------------------------------
FROM ${GO_IMAGE} AS tofu
ARG TOFU_MODULE=github.com/opentofu/opentofu
ARG TOFU_VERSION=v1.12.6
WORKDIR /build
# A wrapper module that requires OpenTofu at the pinned release and repeats its own replace directives (Go
# ignores a dependency's replaces), then builds cmd/tofu from it — the approach of the test harness's tools.
RUN set -eux; \
    go mod init orion.lab/tools/tofu; \
    src="$(go mod download -json "${TOFU_MODULE}@${TOFU_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"; \
    { echo 'module orion.lab/tools/tofu'; \
      grep -E '^go [0-9]' "$src/go.mod" | head -1; \
      echo "require ${TOFU_MODULE} ${TOFU_VERSION}"; \
      awk '/^replace[[:space:]]*\($/ {b=1; next} b && /^\)/ {b=0; next} \
           b && /=>/ {print "replace " $0; next} /^replace[[:space:]].*=>/ {print}' "$src/go.mod" \
        | grep -vE '=>[[:space:]]*\.{0,2}/' || true; \
    } > go.mod; \
    CGO_ENABLED=0 GOFLAGS='-mod=mod -buildvcs=false' \
      go build -trimpath -ldflags='-s -w' -o /out/tofu "${TOFU_MODULE}/cmd/tofu"; \
    /out/tofu version

# ---------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` compiles the sources, which are not copied yet (and ssh2's optional native
# speed-ups are not needed: it falls back to pure JavaScript).
RUN npm ci --ignore-scripts --no-audit --no-fund
# The rest of the context (.dockerignore keeps tests, docs and local state out).
COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p ansible terraform

# ---------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# ansible: the full Debian package, for the ansible.posix collection the playbooks use; tini reaps the
# ansible/ssh/tofu processes the controller spawns.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ansible openssh-client ca-certificates tini; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --gid 10001 orion; \
    useradd --uid 10001 --gid 10001 --home-dir /var/lib/orion --no-create-home --shell /usr/sbin/nologin orion; \
    install -d -o 10001 -g 10001 -m 0700 /var/lib/orion
COPY --from=tofu /out/tofu /usr/local/bin/tofu
WORKDIR /opt/orion
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/crds ./crds
COPY --from=build /app/ansible ./ansible
COPY --from=build /app/terraform ./terraform
ENV NODE_ENV=production \
    HOME=/tmp \
    ANSIBLE_LOCAL_TEMP=/tmp/.ansible/tmp \
    TF_IN_AUTOMATION=1
# The Deployment mounts emptyDirs on /tmp and /var/lib/orion and keeps the root filesystem read-only.
USER 10001:10001
EXPOSE 9477
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/orion/bin/orion.js"]
CMD ["run", "--kube", "--listen", "0.0.0.0:9477", "--state", "/var/lib/orion"]
