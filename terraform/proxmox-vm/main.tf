# A group of identical VMs cloned from a Proxmox template: cores, memory, a root disk, one virtio NIC on a bridge,
# cloud-init (Proxmox's own drive with ci_user/ssh key/DHCP, or a custom user-data ISO), and the guest agent so
# that Proxmox reports the address.
#
# Power is not Terraform's business here: Orion starts, stops and restarts VMs through the Proxmox API, so
# `power_state` is ignored after creation and a stopped VM is not drift.
#
# The provider is pinned to one release: every 3.x release of Telmate/proxmox is a pre-release (-rcNN), which a
# range such as ">= 3.0.1-rc7" never selects. Orion's root module pins the same version (PROXMOX_PROVIDER in
# controllers/lab-module.ts).
terraform {
  required_version = ">= 1.6"
  required_providers {
    proxmox = {
      source  = "Telmate/proxmox"
      version = "3.0.2-rc10"
    }
  }
}

locals {
  prefix    = "${var.name_prefix}-${var.machine}"
  hostnames = [for i in range(var.instances) : "${var.machine}-${i}"]
  custom_ci = var.user_data != ""
}

resource "proxmox_cloud_init_disk" "init" {
  count     = local.custom_ci ? var.instances : 0
  name      = "${local.prefix}-${count.index}"
  pve_node  = var.target_node
  storage   = var.iso_storage
  user_data = var.user_data
  meta_data = yamlencode({ "instance-id" = "${local.prefix}-${count.index}", "local-hostname" = local.hostnames[count.index] })
}

resource "proxmox_vm_qemu" "machine" {
  count       = var.instances
  name        = "${local.prefix}-${count.index}"
  target_node = var.target_node
  clone       = var.template
  full_clone  = var.full_clone
  agent       = 1
  memory      = var.memory_mib
  scsihw      = "virtio-scsi-single"
  boot        = "order=scsi0"
  power_state = "running"
  os_type     = "cloud-init"
  ipconfig0   = local.custom_ci ? null : "ip=dhcp"
  ciuser      = local.custom_ci ? null : var.ci_user
  sshkeys     = local.custom_ci || var.ssh_public_key == "" ? null : var.ssh_public_key

  cpu {
    cores   = var.cores
    sockets = 1
  }

  disks {
    scsi {
      scsi0 {
        disk {
          storage = var.storage
          size    = "${var.disk_gib}G"
        }
      }
    }
    ide {
      ide2 {
        dynamic "cloudinit" {
          for_each = local.custom_ci ? [] : [1]
          content {
            storage = var.storage
          }
        }
        dynamic "cdrom" {
          for_each = local.custom_ci ? [1] : []
          content {
            iso = proxmox_cloud_init_disk.init[count.index].id
          }
        }
      }
    }
  }

  network {
    id     = 0
    model  = "virtio"
    bridge = var.bridge
  }

  lifecycle {
    ignore_changes = [power_state]
  }
}
