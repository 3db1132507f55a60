#!/usr/bin/python
"""Move mailboxes from a source IMAP server into the target Dovecot, verify them, or check both answer."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_mailbox
short_description: Move mailboxes over IMAP with doveadm (dsync over imapc), verify them per folder
description:
  - Runs on the target mail server (it needs the target's doveadm and configuration), for
    every mailbox of O(mailboxes) in one module run, O(parallel) at a time; a mailbox that
    fails does not stop the others, and the module fails at the end naming each one.
  - O(state=moved) - per mailbox, the target user is looked up, the source login is tried,
    the source's size is compared with the target's storage quota (dsync ignores quota, so a
    mailbox that does not fit is refused before anything is copied), then
    C(doveadm -c <per-move include> backup -R -l <lock_timeout> -u <target user> -x shared
    -x shared/* imapc:) makes the target mailbox an exact copy of the source one. The
    per-move include (0600, in O(work_dir), 0700) holds the source's imapc settings and its
    password and includes O(target.config); it is removed when the move ends, and one a
    killed run left behind is removed by the next run. A re-run copies nothing twice; a run
    killed mid-move and run again loses and doubles nothing. The target's folder status
    before and after says what arrived (changed, messages, bytes). C(backup -R) also removes
    from the target what the source no longer has, so mailboxes move before the MX records
    switch, never after.
  - In check mode nothing is copied; the source's messages (over IMAP) are compared with the
    target's (C(doveadm fetch)) and what would move (and be removed) is reported.
  - O(state=verified) - per mailbox and folder, over IMAP on both sides, message counts, the
    multiset of Message-IDs and the size totals. Each mailbox gets a score like Exchange's
    DataConsistencyScore - perfect (everything equal), good (nothing missing or duplicated,
    the target only holds more, e.g. mail delivered after the switch), investigate (messages
    missing or duplicated, at most O(investigate_ratio) of the mailbox), poor (more). The
    module fails naming each mailbox and folder that is investigate or poor.
  - O(state=check) - every source and target login is accepted and every target user exists.
  - Passwords are only ever read from files (0600, owner only) - a mailbox's own password from
    C(<password_dir>/<login>.password) or the item's password file, or a master user's
    (C(master_user) with C(password_file); SASL PLAIN with the mailbox as authorization
    identity, C(imapc_master_user) for dsync). No password is an argument of any process, a
    module option or part of the result or a message.
  - Every process has a time limit - O(timeout) for a move, O(command_timeout) for the other
    doveadm commands, O(imap_timeout) for IMAP; doveadm dies with the module (setpriv
    --pdeathsig) and SIGTERM ends the running moves.
options:
  state:
    description: moved, verified or check
    type: str
    required: true
    choices: [moved, verified, check]
  mailboxes:
    description:
      - the mailboxes of the run - each a name (the old account or address, resolved to its
        new user through O(mapping_file)) or a dict with C(source) (the old name), optional
        C(address) (the old address, for O(source.login=address) and the mapping), C(target)
        (the new user; else from the mapping), C(target_login), C(source_password_file),
        C(target_password_file)
    type: list
    elements: raw
    required: true
  mapping_file:
    description:
      - JSON (or YAML, where PyYAML is installed) mapping old mailbox to new user - the
        identity map of the wave (C(identities) with old_account, old_mail and aliases mapped
        to O(target_user_field)), or a plain mapping of names (at the top or under C(mailboxes))
    type: path
  target_user_field:
    description: which field of the identity map names the target user
    type: str
    default: username
    choices: [username, mail, upn]
  source:
    description: the source IMAP server of the municipality
    type: dict
    required: true
    suboptions:
      host: {description: address of the IMAP server, type: str}
      port: {description: its IMAP port, type: int, default: 993}
      tls: {description: imaps (TLS from the start) or starttls, type: str, default: imaps, choices: [imaps, starttls]}
      ca_file: {description: CA certificate(s) its certificate is verified against; default the system's, type: path}
      password_dir: {description: 'folder of 0600 files C(<login>.password), one per mailbox', type: path}
      master_user: {description: an admin/master login used for every mailbox instead of their own passwords, type: str}
      password_file: {description: the master user's password file (0600), type: path}
      login: {description: log in with the mailbox's name or its address, type: str, default: name, choices: [name, address]}
  target:
    description: the target mail server (this host) - as O(source), and C(config), the path of its Dovecot configuration (for moved and check)
    type: dict
    required: true
    suboptions:
      host: {description: address of the IMAP server, type: str}
      port: {description: its IMAP port, type: int, default: 993}
      tls: {description: imaps (TLS from the start) or starttls, type: str, default: imaps, choices: [imaps, starttls]}
      ca_file: {description: CA certificate(s) its certificate is verified against; default the system's, type: path}
      password_dir: {description: 'folder of 0600 files C(<login>.password), one per mailbox', type: path}
      master_user: {description: an admin/master login used for every mailbox instead of their own passwords, type: str}
      password_file: {description: the master user's password file (0600), type: path}
      login: {description: log in with the mailbox's name or its address, type: str, default: name, choices: [name, address]}
      config: {description: the target's dovecot.conf, type: path}
  work_dir: {description: where the per-move includes are written (0700), type: path, default: /var/lib/eendracht/mail-moves}
  exclude: {description: folder masks not moved or compared (another's shared mailbox), type: list, elements: str, default: [shared, shared/*]}
  parallel: {description: mailboxes worked on at once, type: int, default: 2}
  timeout: {description: seconds one mailbox's doveadm backup may take, type: int, default: 3600}
  lock_timeout: {description: seconds a move waits for another move of the same mailbox (doveadm backup -l), type: int, default: 60}
  command_timeout: {description: seconds any other doveadm command may take, type: int, default: 60}
  imap_timeout: {description: seconds an IMAP connection may wait for an answer, type: int, default: 60}
  investigate_ratio: {description: 'verify: missing plus duplicated messages up to this share of a mailbox score investigate, more poor', type: float, default: 0.01}
  target_users: {description: 'check: also log on at the target and look up every target user; false before the accounts exist (the target then only has to answer over TLS)', type: bool, default: true}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: moved - mailboxes_moved, messages, bytes (what arrived; in check mode what would);
    verified - mailboxes_verified, messages_verified; check - mailboxes_checked
  type: dict
  returned: always
mailboxes:
  description: per mailbox - source, target, status (moved, unchanged, would move, failed),
    messages, bytes, messages_removed, seconds; verified - score, source/target messages and
    bytes, missing, duplicated, extra, differing_folders, findings
  type: list
  returned: always
scores:
  description: verified - how many mailboxes got each score
  type: dict
  returned: state=verified
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_mailmove import ARGUMENT_SPEC, MailMoveError, run, stop_on_signals


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    stop_on_signals()
    try:
        result = run(module.params, module.check_mode)
    except MailMoveError as failure:
        module.fail_json(msg=str(failure), **failure.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
