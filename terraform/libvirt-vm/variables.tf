variable "name_prefix" {
  description = "Prefix of every libvirt object this module creates (Orion uses <namespace>.<lab>)."
  type        = string
}

variable "machine" {
  description = "The machine group's name; instance i is <machine>-<i>."
  type        = string
}

variable "instances" {
  description = "How many identical machines."
  type        = number
  default     = 1
}

variable "vcpu" {
  type    = number
  default = 1
}

variable "memory_mib" {
  type    = number
  default = 1024
}

variable "disk_gib" {
  description = "Size of each machine's root disk (a qcow2 volume; on top of the base image when there is one)."
  type        = number
  default     = 10
}

variable "pool" {
  description = "The libvirt storage pool of the volumes."
  type        = string
  default     = "default"
}

variable "network" {
  description = "The libvirt network of the machines' single interface."
  type        = string
  default     = "default"
}

variable "domain_type" {
  description = "kvm, or qemu (TCG emulation) where KVM is not available."
  type        = string
  default     = "kvm"
  validation {
    condition     = contains(["kvm", "qemu"], var.domain_type)
    error_message = "domain_type must be kvm or qemu."
  }
}

variable "base_volume_name" {
  description = "An existing volume of the pool to use as the base (backing file) of every disk; \"\" for none."
  type        = string
  default     = ""
}

variable "base_image_path" {
  description = "A local image file uploaded once into the pool as the base of every disk; \"\" for none."
  type        = string
  default     = ""
}

variable "user_data" {
  description = "cloud-init user data; \"\" attaches no cloud-init disk."
  type        = string
  default     = ""
}

variable "kernel" {
  description = "Direct kernel boot: the kernel's path on the libvirt host; \"\" boots from the disk."
  type        = string
  default     = ""
}

variable "initrd" {
  type    = string
  default = ""
}

variable "cmdline" {
  description = "Kernel command line in the provider's canonical form: a list of maps, keyless words under \"_\"."
  type        = list(map(string))
  default     = []
}

variable "wait_for_lease" {
  description = "Wait at creation until each machine has a DHCP lease (its address is then in the outputs)."
  type        = bool
  default     = false
}
