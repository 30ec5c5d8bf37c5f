variable "name_prefix" {
  description = "Prefix of the VM names (Orion uses <namespace>-<lab>)."
  type        = string
}

variable "machine" {
  description = "The machine group's name; instance i is <machine>-<i>."
  type        = string
}

variable "instances" {
  type    = number
  default = 1
}

variable "target_node" {
  description = "The Proxmox node the VMs are created on."
  type        = string
}

variable "template" {
  description = "The template (VM name) every VM is cloned from; it must be cloud-init ready."
  type        = string
}

variable "full_clone" {
  type    = bool
  default = true
}

variable "cores" {
  type    = number
  default = 1
}

variable "memory_mib" {
  type    = number
  default = 1024
}

variable "disk_gib" {
  type    = number
  default = 10
}

variable "storage" {
  description = "Storage of the root disk and the cloud-init drive."
  type        = string
  default     = "local-lvm"
}

variable "iso_storage" {
  description = "Storage (with the iso content type) that receives the cloud-init ISO when user_data is given."
  type        = string
  default     = "local"
}

variable "bridge" {
  type    = string
  default = "vmbr0"
}

variable "ci_user" {
  description = "cloud-init user (Proxmox-generated cloud-init, when user_data is empty)."
  type        = string
  default     = "root"
}

variable "ssh_public_key" {
  description = "Authorized for ci_user (Proxmox-generated cloud-init, when user_data is empty)."
  type        = string
  default     = ""
}

variable "user_data" {
  description = "Custom cloud-init user data, uploaded as a NoCloud ISO; \"\" uses Proxmox's own cloud-init drive."
  type        = string
  default     = ""
}
