from agora.core.errors import Conflict


class LedgerUnbalanced(Conflict):
    code = "ledger_unbalanced"
