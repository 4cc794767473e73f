// Rails page: reorder the rails by dragging a row's handle, or from the keyboard on the handle (Space or Enter
// picks the row up and drops it, ↑/↓ move it, Escape puts it back). A drop posts the whole order once, through
// the page's #rail-order form: each row holds an input of that form, so the form sends the keys in the rows'
// order. Without JavaScript the handles stay hidden and the ↑/↓ buttons of each row do the same job.
(() => {
  const ROW = ":scope > li[data-key]";
  let picked = null; // keyboard: {row, order} while a row is held
  let dragged = null; // mouse: {row, order, dropped} while a row is dragged
  let sent = null; // {row, order}: the order before the one posted, put back if the post fails
  let refocus = null; // the id of the row whose handle gets the focus back once the new list is swapped in

  const rowsOf = (list) => [...list.querySelectorAll(ROW)];
  const orderOf = (list) => rowsOf(list).map((row) => row.dataset.key);
  const placeOf = (row) => {
    const rows = rowsOf(row.parentElement);
    return `position ${rows.indexOf(row) + 1} of ${rows.length}`;
  };
  const announce = (text) => {
    document.getElementById("rail-announce").textContent = text;
  };

  function renumber(list) {
    rowsOf(list).forEach((row, index) => {
      const number = row.querySelector(".rail-number");
      number.textContent = index + 1;
      number.setAttribute("aria-label", `Place ${index + 1}`);
    });
  }

  function restore(list, order) {
    order.forEach((key) => list.append(list.querySelector(`:scope > li[data-key="${CSS.escape(key)}"]`)));
    renumber(list);
  }

  function submit(row, order) {
    const list = row.parentElement;
    if (orderOf(list).join() === order.join()) {
      announce(`“${row.dataset.title}” stays at ${placeOf(row)}.`);
      return;
    }
    announce(`Moved “${row.dataset.title}” to ${placeOf(row)}.`);
    sent = { row, order };
    refocus = row.id;
    document.getElementById("rail-order").requestSubmit();
  }

  function hold(row, held) {
    row.classList.toggle("rail-picked", held);
    row.querySelector(".rail-handle").setAttribute("aria-pressed", String(held));
  }

  function pickUp(row) {
    picked = { row, order: orderOf(row.parentElement) };
    hold(row, true);
    announce(`Picked up “${row.dataset.title}”, ${placeOf(row)}. ↑ or ↓ to move, Space or Enter to drop, Escape to cancel.`);
  }

  function drop() {
    const { row, order } = picked;
    picked = null;
    hold(row, false);
    submit(row, order);
  }

  // Putting the rows back moves them, and a moved element loses the focus: `focus` is where it goes next.
  function cancel(focus) {
    const { row, order } = picked;
    picked = null;
    hold(row, false);
    restore(row.parentElement, order);
    if (focus) focus.focus();
    announce(`Cancelled: “${row.dataset.title}” back at ${placeOf(row)}.`);
  }

  // A button's click comes from Space and Enter too: one handler picks up and drops for mouse and keyboard.
  document.addEventListener("click", (event) => {
    const handle = event.target.closest(".rail-handle");
    if (!handle) return;
    const row = handle.closest("li[data-key]");
    if (picked && picked.row === row) return drop();
    if (picked) cancel(handle);
    pickUp(row);
  });

  document.addEventListener("keydown", (event) => {
    if (!picked || !event.target.closest(".rail-handle")) return;
    const { row } = picked;
    if (event.key === "Escape") {
      event.preventDefault();
      return cancel(event.target);
    }
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    event.preventDefault(); // the arrows move the row, not the page
    // The neighbour moves, not the held row: a focused element taken out of the page loses the focus.
    const neighbour = event.key === "ArrowUp" ? row.previousElementSibling : row.nextElementSibling;
    if (!neighbour || !neighbour.matches("li[data-key]")) return announce(`“${row.dataset.title}”, ${placeOf(row)}.`);
    if (event.key === "ArrowUp") row.after(neighbour);
    else row.before(neighbour);
    renumber(row.parentElement);
    announce(`“${row.dataset.title}”, ${placeOf(row)}.`);
  });

  document.addEventListener("focusout", (event) => {
    if (picked && event.target === picked.row.querySelector(".rail-handle") && !picked.row.contains(event.relatedTarget)) {
      cancel(null);
    }
  });

  // A row is draggable only while the pointer rests on its handle: a row always draggable would take the drags
  // meant to select text in its fields, and a button cannot be dragged itself. The browser settles what a press
  // drags before the press is told, and a drag leaves the handle before it starts: so the switch flips on hovering
  // with no button down.
  for (const [type, draggable] of [["pointerover", true], ["pointerout", false]]) {
    document.addEventListener(type, (event) => {
      const handle = event.target.closest && event.target.closest(".rail-handle");
      if (handle && event.buttons === 0) handle.closest("li[data-key]").draggable = draggable;
    });
  }

  document.addEventListener("dragstart", (event) => {
    const row = event.target;
    if (!(row instanceof HTMLLIElement) || !row.draggable || !row.dataset.key) return;
    if (picked) cancel(null);
    dragged = { row, order: orderOf(row.parentElement), dropped: false };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.key);
    event.dataTransfer.setDragImage(row, 24, 24);
    row.classList.add("rail-dragging");
  });

  // The row follows the pointer as it crosses the middle of another row, so the page shows the order a drop makes.
  document.addEventListener("dragover", (event) => {
    if (!dragged || !event.target.closest || !dragged.row.parentElement.contains(event.target)) return;
    event.preventDefault(); // a drop anywhere on the list, gaps between rows included, keeps the order shown
    event.dataTransfer.dropEffect = "move";
    const over = event.target.closest("li[data-key]");
    if (!over || over === dragged.row || over.parentElement !== dragged.row.parentElement) return;
    const box = over.getBoundingClientRect();
    const below = event.clientY > box.top + box.height / 2;
    if (below && over.nextElementSibling !== dragged.row) over.after(dragged.row);
    else if (!below && over.previousElementSibling !== dragged.row) over.before(dragged.row);
    else return;
    renumber(over.parentElement);
  });

  document.addEventListener("drop", (event) => {
    if (!dragged) return;
    event.preventDefault();
    dragged.dropped = true;
    submit(dragged.row, dragged.order);
  });

  document.addEventListener("dragend", () => {
    if (!dragged) return;
    const { row, order, dropped } = dragged;
    dragged = null;
    row.draggable = false;
    row.classList.remove("rail-dragging");
    if (!dropped) restore(row.parentElement, order); // let go outside the list, or Escape during the drag
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.target.id !== "rail-order" || !sent) return;
    const { row, order } = sent;
    sent = null;
    // A refusal (400) comes back as the list with its message and is swapped in; anything else left nothing.
    if (event.detail.successful || event.detail.xhr.status === 400) return;
    refocus = null;
    restore(row.parentElement, order);
    announce(`The new order could not be saved: “${row.dataset.title}” is back at ${placeOf(row)}.`);
  });

  htmx.onLoad((content) => {
    content.querySelectorAll("[data-rail-order][hidden]").forEach((element) => element.removeAttribute("hidden"));
    const row = refocus && document.getElementById(refocus);
    if (row) {
      refocus = null;
      row.querySelector(".rail-handle").focus();
    }
  });
})();
