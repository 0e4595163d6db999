#!/bin/sh
# Forks children that outlive it (one in a subshell of its own), writes their pids to
# the file $1, then hangs until its timeout kills the whole group.
sleep 300 &
echo $! >> "$1"
( sleep 300 & echo $! >> "$1"; wait ) &
echo $! >> "$1"
echo $$ >> "$1"
sleep 300
