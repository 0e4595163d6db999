#!/bin/sh
# Never answers: killed at its timeout.
sleep 300
