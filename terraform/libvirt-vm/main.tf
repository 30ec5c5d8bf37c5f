# A group of identical machines on libvirt: a qcow2 root disk each (blank, or on top of a base image), an optional
# cloud-init disk, one interface on a libvirt network, a serial console and a VNC display on the loopback.
#
# Power is not Terraform's business here: Orion starts, stops and restarts machines through libvirt, so the
# domain's `running` attribute is ignored after creation and a stopped machine is not drift.
terraform {
  required_version = ">= 1.6"
  required_providers {
    libvirt = {
      source  = "dmacvicar/libvirt"
      version = "~> 0.8.3"
    }
  }
}

locals {
  prefix   = "${var.name_prefix}.${var.machine}"
  hostname = [for i in range(var.instances) : "${var.machine}-${i}"]
}

resource "libvirt_volume" "base" {
  count  = var.base_image_path != "" ? 1 : 0
  name   = "${local.prefix}.base.qcow2"
  pool   = var.pool
  source = var.base_image_path
}

resource "libvirt_volume" "disk" {
  count            = var.instances
  name             = "${local.prefix}-${count.index}.qcow2"
  pool             = var.pool
  format           = "qcow2"
  size             = var.disk_gib * 1024 * 1024 * 1024
  base_volume_id   = var.base_image_path != "" ? libvirt_volume.base[0].id : null
  base_volume_name = var.base_volume_name != "" ? var.base_volume_name : null
  base_volume_pool = var.base_volume_name != "" ? var.pool : null
}

resource "libvirt_cloudinit_disk" "init" {
  count     = var.user_data != "" ? var.instances : 0
  name      = "${local.prefix}-${count.index}.cloudinit.iso"
  pool      = var.pool
  user_data = var.user_data
  meta_data = yamlencode({ "instance-id" = "${local.prefix}-${count.index}", "local-hostname" = local.hostname[count.index] })
}

resource "libvirt_domain" "machine" {
  count     = var.instances
  name      = "${local.prefix}-${count.index}"
  type      = var.domain_type
  vcpu      = var.vcpu
  memory    = var.memory_mib
  cloudinit = var.user_data != "" ? libvirt_cloudinit_disk.init[count.index].id : null
  kernel    = var.kernel != "" ? var.kernel : null
  initrd    = var.initrd != "" ? var.initrd : null
  cmdline   = length(var.cmdline) > 0 ? var.cmdline : null

  disk {
    volume_id = libvirt_volume.disk[count.index].id
  }

  network_interface {
    network_name   = var.network
    hostname       = local.hostname[count.index]
    wait_for_lease = var.wait_for_lease
  }

  console {
    type        = "pty"
    target_type = "serial"
    target_port = "0"
  }

  graphics {
    type           = "vnc"
    listen_type    = "address"
    listen_address = "127.0.0.1"
    autoport       = true
  }

  lifecycle {
    ignore_changes = [running]
  }
}
