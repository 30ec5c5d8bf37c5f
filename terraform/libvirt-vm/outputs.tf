output "machines" {
  description = "One entry per machine: its name in the lab, its libvirt domain, its MAC and address (when known)."
  value = [
    for i, domain in libvirt_domain.machine : {
      name    = local.hostname[i]
      id      = domain.name
      mac     = domain.network_interface[0].mac
      address = try(domain.network_interface[0].addresses[0], "")
      # VNC uses autoport: the port exists only while the domain runs, and libvirt reports it (virsh domdisplay).
      vnc_port = null
    }
  ]
}
