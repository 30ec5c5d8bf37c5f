output "machines" {
  description = "One entry per VM: its name in the lab, its Proxmox VM id, and its address when the guest agent reports one."
  value = [
    for i, vm in proxmox_vm_qemu.machine : {
      name     = local.hostnames[i]
      id       = tostring(vm.vmid)
      mac      = try(vm.network[0].macaddr, "")
      address  = try(vm.default_ipv4_address, "")
      vnc_port = null
    }
  ]
}
