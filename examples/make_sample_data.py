"""Regenerate the small sample files the example pipelines read (deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent / "data"


def main() -> None:
    rng = np.random.default_rng(7)
    HERE.mkdir(exist_ok=True)
    first = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jia",
             "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
    last = ["Silva", "Okafor", "Müller", "Kowalski", "Nguyen", "García", "Smith", "Tanaka",
            "Haddad", "Novak"]
    countries = ["DE", "FR", "US", "JP", "BR", "NG", "PL"]
    n_cust = 200
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n_cust + 1),
        "name": [f"{first[i % 20]} {last[(i * 7) % 10]}" for i in range(n_cust)],
        "email": [f"{first[i % 20].lower()}.{i}@example.com" for i in range(n_cust)],
        "country": rng.choice(countries, n_cust),
        "signup_date": pd.date_range("2022-01-01", periods=n_cust, freq="3D").strftime("%Y-%m-%d"),
        "segment": rng.choice(["consumer", "business", "education"], n_cust, p=[0.6, 0.3, 0.1]),
    })
    customers.to_csv(HERE / "customers.csv", index=False)

    categories = ["electronics", "clothing", "home", "toys", "books"]
    n_prod = 40
    products = pd.DataFrame({
        "product_id": [f"P{i:03d}" for i in range(1, n_prod + 1)],
        "title": [f"{categories[i % 5].title()} item {i}" for i in range(1, n_prod + 1)],
        "category": [categories[i % 5] for i in range(1, n_prod + 1)],
        "unit_price": np.round(rng.uniform(3, 400, n_prod), 2),
        "weight_kg": np.round(rng.uniform(0.1, 12, n_prod), 2),
        "supplier": rng.choice(["Acme", "Globex", "Initech", "Umbrella"], n_prod),
        "in_stock": rng.random(n_prod) > 0.2,
    })
    products.to_parquet(HERE / "products.parquet", index=False)

    n_ord = 1000
    dates = pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 540, n_ord), unit="D")
    orders = []
    for i in range(n_ord):
        qty = int(rng.integers(1, 6))
        orders.append({
            "order_id": 10000 + i,
            "customer_id": int(rng.integers(1, n_cust + 1)),
            "product_id": f"P{int(rng.integers(1, n_prod + 1)):03d}",
            "quantity": qty,
            "order_date": dates[i].strftime("%Y-%m-%d"),
            "status": str(rng.choice(["paid", "shipped", "cancelled", "refunded"],
                                     p=[0.5, 0.35, 0.1, 0.05])),
            "shipping": {"method": str(rng.choice(["standard", "express"])),
                         "cost": round(float(rng.uniform(0, 25)), 2)},
        })
    (HERE / "orders.json").write_text(json.dumps(orders), encoding="utf-8")


if __name__ == "__main__":
    main()
