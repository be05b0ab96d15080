#!/bin/sh
echo "helper says hi to $1"
