#!/usr/bin/python3
"""A FUSE file system for tests that mirrors a folder and fails reads on demand with EIO, as a failing disk does.

    eio_fs.py BACKING MOUNTPOINT

Every file of BACKING shows under MOUNTPOINT with its content, mode and times. Reading a file NAME fails with EIO
while BACKING/.eio/NAME exists (the control folder itself is not shown). `touch MOUNTPOINT/NAME` sets the times of
BACKING/NAME, so that a watcher of MOUNTPOINT sees a change. Runs in the foreground until unmounted.
"""
import errno
import os
import sys

from fusepy import FUSE, FuseOSError, Operations

CONTROL = '.eio'


class EioFs(Operations):
    def __init__(self, backing):
        self.backing = os.path.realpath(backing)

    def _path(self, path):
        parts = [p for p in path.split('/') if p]
        if any(p in ('.', '..') for p in parts) or (parts and parts[0] == CONTROL):
            raise FuseOSError(errno.ENOENT)
        return os.path.join(self.backing, *parts)

    def _failing(self, path):
        name = path.lstrip('/')
        return os.path.exists(os.path.join(self.backing, CONTROL, name))

    def getattr(self, path, fh=None):
        st = os.lstat(self._path(path))
        keys = ('st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_size', 'st_atime', 'st_mtime', 'st_ctime')
        return {k: getattr(st, k) for k in keys}

    def readdir(self, path, fh):
        return ['.', '..'] + [n for n in os.listdir(self._path(path)) if not (path == '/' and n == CONTROL)]

    def open(self, path, flags):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FuseOSError(errno.EROFS)
        return os.open(self._path(path), os.O_RDONLY)

    def read(self, path, size, offset, fh):
        if self._failing(path):
            raise FuseOSError(errno.EIO)
        os.lseek(fh, offset, os.SEEK_SET)
        return os.read(fh, size)

    def release(self, path, fh):
        os.close(fh)
        return 0

    def utimens(self, path, times=None):
        os.utime(self._path(path), times)
        return 0


if __name__ == '__main__':
    FUSE(EioFs(sys.argv[1]), sys.argv[2], foreground=True, nothreads=True, ro=False, direct_io=True)
