// The desktop machine's VNC port, which the Desktop controller (its session check counts the browsers) and the
// portal (its console reaches the screen there) both know: x11vnc on the machine's loopback, started with the XRDP
// session by the desktop role (ansible/roles/desktop: desktop_vnc_port). Never on the network: Orion reaches it
// through SSH.
export const DESKTOP_VNC_PORT = 5900;
