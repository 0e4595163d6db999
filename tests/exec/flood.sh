#!/bin/sh
# Prints 50 MiB, then lingers: cut at max_output, its group killed.
yes 'flooding the collector' | head -c 52428800
sleep 300
