"""The mail step's pure parts: what a failed first move into an opened mailbox says, and
which mailboxes the lab's independent check reads."""

from __future__ import annotations

from eendracht.module_utils import load_module_utils
from eendracht.wave.lab_check_mail import SAMPLE, sample

mailmove = load_module_utils("eendracht_mailmove")


def test_a_target_mailbox_opened_before_its_first_move_is_named_with_what_to_do() -> None:
    said = "dsync(info.noordwaard): Error: Mailbox INBOX sync: mailbox_delete failed: INBOX can't be deleted."
    move = {"source": "info", "target": "info.noordwaard", "source_login": "info"}
    message = mailmove._explain(said, move)
    assert message.startswith("mailbox info: the target mailbox info.noordwaard was opened")
    assert "nothing was lost" in message and "move it again" in message


def test_the_lab_check_reads_every_mailbox_up_to_the_sample_then_all_function_mailboxes() -> None:
    persons = [(f"p{i}@x.nl", f"acct{i}", f"p{i}@y.nl") for i in range(100)]
    functions = [(f"{n}@x.nl", n, f"{n}.x@y.nl") for n in ("info", "griffie", "wmo")]
    few = persons[:SAMPLE]
    assert sample(few) == few
    chosen = sample(persons + functions)
    assert len(chosen) == SAMPLE and set(functions) <= set(chosen)
    assert chosen == sample(persons + functions)  # seeded: the same mailboxes every run
