# gdb commands for rewind: time travel that leaves gdb looking at the new point.
#
#   gdb-multiarch vmlinux -x debugger/gdb/rewind.gdb -ex 'target remote :1234'
#
# gdb keeps the registers and frames of the last stop; rewind's monitor commands that move execution
# (`replay goto`, `loadvm`) cannot tell it, so these wrappers run the command and then make gdb read the
# machine again, as `flushregs` does.

define rewind-goto
  monitor replay goto $arg0
  maintenance flush register-cache
end
document rewind-goto
Move execution to instruction count N (rewind-goto N), then refresh gdb's view.
The recording or --reverse history decides how far forward execution can go.
end

define rewind-loadvm
  monitor loadvm $arg0
  maintenance flush register-cache
end
document rewind-loadvm
Go back (or forward) to a point named with `monitor savevm NAME`, then refresh gdb's view.
end

define rewind-savevm
  monitor savevm $arg0
end
document rewind-savevm
Name the current point of execution: rewind-loadvm NAME returns to it.
end

define rewind-where
  monitor replay where
end
document rewind-where
Print the current instruction count.
end
