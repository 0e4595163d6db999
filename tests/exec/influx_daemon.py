"""A Telegraf-execd-style daemon: one Influx line every 0.2 s, a counter that grows."""
import sys
import time

count = 0
while True:
    count += 1
    sys.stdout.write(f"exec_test,source=python counter={count}i,half={count / 2}\n")
    sys.stdout.flush()
    time.sleep(0.2)
