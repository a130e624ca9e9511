"""A small rate file for hand-worked bills (tests only): every feature, round prices."""

RATES = """\
summer_months = [6, 7, 8, 9]

[franchise_fees]
"Coeur d'Alene" = 3.0

[schedules.RES]
name = "Residential"
classes = ["RES"]

[[schedules.RES.version]]
effective = 2025-01-01
customer_charge = 25.00
minimum_charge = 25.00
pca_per_kwh = 0.003100
net_metering_credit_per_kwh = 0.035000
energy.winter = [{ up_to = 1000, rate = 0.091230 }, { rate = 0.104500 }]
energy.summer = [{ up_to = 1000, rate = 0.091230 }, { rate = 0.112000 }]

[[schedules.RES.version]]
effective = 2025-03-16
customer_charge = 27.00
minimum_charge = 27.00
pca_per_kwh = 0.004000
net_metering_credit_per_kwh = 0.035000
energy.winter = [{ up_to = 1000, rate = 0.095000 }, { rate = 0.110000 }]
energy.summer = [{ up_to = 1000, rate = 0.095000 }, { rate = 0.118000 }]

[schedules.SGS]
name = "General service"
classes = ["SGS"]

[[schedules.SGS.version]]
effective = 2025-01-01
customer_charge = 35.00
minimum_charge = 35.00
energy.winter = [{ rate = 0.102000 }]

[schedules.LGS]
name = "Large power"
classes = ["LGS"]

[[schedules.LGS.version]]
effective = 2025-01-01
customer_charge = 95.00
minimum_charge = 150.00
pca_per_kwh = 0.003100
energy.winter = [{ rate = 0.071000 }]
demand = { threshold_kw = 30, rate = 6.75 }

[schedules.IRR]
name = "Irrigation"
classes = ["IRR"]

[[schedules.IRR.version]]
effective = 2025-01-01
customer_charge = 30.00
minimum_charge = 30.00
pca_per_kwh = 0.003100
energy.winter = [{ rate = 0.085000 }]
energy.summer = [{ up_to = 5000, rate = 0.085000 }, { rate = 0.079500 }]
demand = { threshold_kw = 0, rate = 2.10 }

[schedules.SL]
name = "Security lights"
classes = ["SL"]

[[schedules.SL.version]]
effective = 2025-01-01
lamp_charge = 12.00
taxable = false
"""
