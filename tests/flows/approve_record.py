import sqlite3
from hero_tracing import flow

@flow
def create_record(ledger: str, db: str) -> int:
    with open(ledger, "a") as f:
        f.write("created\n")
    con = sqlite3.connect(db)
    con.execute("create table if not exists records (name text)")
    con.execute("insert into records values ('order-1')")
    con.commit()
    return con.execute("select count(*) from records").fetchone()[0]

@flow
def main(ledger: str, db: str):
    rows = create_record(ledger=ledger, db=db)
    answer = flow.pause("approve", ui={"kind": "confirm"})
    return {"approved": answer, "rows": rows}
