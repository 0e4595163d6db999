#!/bin/sh
# A daemon that forks a child which would outlive it, writes both pids to the file $1,
# then prints a JSON reading every 0.2 s until it is killed.
sleep 300 &
echo $! >> "$1"
echo $$ >> "$1"
n=0
while :; do
    n=$((n + 1))
    echo "{\"beats\": $n}"
    sleep 0.2
done
