# Orion: writes a machine-readable summary of a playbook run to the file named by ORION_ANSIBLE_SUMMARY,
# next to the default (human) stdout callback, which keeps the run log readable.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt), as Ansible plugins are.
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = '''
    name: orion_summary
    type: aggregate
    short_description: JSON summary of a run (per-host stats, failed task and message) for Orion
    description:
      - On every failed or unreachable result, remembers the task name and the message per host.
      - At the end of the run, writes per-host stats and the last failure of each host as JSON
        to the file named by the ORION_ANSIBLE_SUMMARY environment variable.
    requirements:
      - enabled in callbacks_enabled (ANSIBLE_CALLBACKS_ENABLED=orion_summary)
'''

import json
import os

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.callback import CallbackBase

MESSAGE_LIMIT = 2000


def _message(result):
    res = result._result
    parts = []
    for key in ('msg', 'stderr', 'module_stderr'):
        value = res.get(key)
        if value and to_text(value).strip() and to_text(value).strip() not in parts:
            parts.append(to_text(value).strip())
    if not parts and res.get('rc') is not None:
        parts.append('non-zero return code %s' % res.get('rc'))
    return '\n'.join(parts)[:MESSAGE_LIMIT]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'orion_summary'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display)
        self._failures = {}
        self._item_messages = {}

    def _record(self, result, unreachable):
        host = result._host.get_name()
        message = _message(result)
        item_message = self._item_messages.pop(host, None)
        if item_message and (not message or message == 'One or more items failed'):
            message = item_message
        self._failures[host] = {
            'task': to_text(result._task.get_name()),
            'message': message,
            'unreachable': unreachable,
        }

    def v2_runner_item_on_failed(self, result):
        self._item_messages[result._host.get_name()] = _message(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            self._item_messages.pop(result._host.get_name(), None)
            return
        self._record(result, False)

    def v2_runner_on_unreachable(self, result):
        self._record(result, True)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('ORION_ANSIBLE_SUMMARY')
        if not path:
            return
        hosts = {}
        for host in sorted(stats.processed.keys()):
            summary = stats.summarize(host)
            entry = {
                'ok': summary['ok'],
                'changed': summary['changed'],
                'failed': summary['failures'],
                'unreachable': summary['unreachable'],
                'skipped': summary['skipped'],
                'rescued': summary['rescued'],
                'ignored': summary['ignored'],
            }
            failure = self._failures.get(host)
            if failure and (entry['failed'] or entry['unreachable']):
                entry['failedTask'] = failure['task']
                entry['message'] = failure['message']
            hosts[host] = entry
        with open(path, 'w') as handle:
            json.dump({'version': 1, 'hosts': hosts}, handle)
