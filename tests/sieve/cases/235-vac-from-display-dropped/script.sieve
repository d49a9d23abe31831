require "vacation";
vacation :from "Bob Reader <reader@example.com>" "Out";
