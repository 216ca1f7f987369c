// A stand-in for Shopify's App Bridge, loaded only when Shopify's own script is not (inside the
// emulator's admin page, which plays Shopify admin). It reads the same declarative elements App
// Bridge reads and tells the admin page about them, so one page works in both admins:
//   <ui-nav-menu> (links; the first, rel="home", is the app's home)  -> the admin's left column
//   <ui-title-bar title> (a/button children, variant="breadcrumb"|"primary") -> its title bar
//   <form data-save-bar [data-discard-confirmation]>                  -> its save bar
//   <ui-modal id> (its text and <ui-title-bar title> buttons), .show()/.hide(),
//   shopify.modal.show(id)/.hide(id)                                  -> a modal over the admin
//   shopify.idToken(), shopify.toast.show(), shopify.saveBar.*        -> as App Bridge's
// and the app's address (path and query), which the admin keeps in its own address bar.
// Messages (protocol in shopify_emulator/README.md) go to the admin's origin only, and only the
// parent window on an admin origin (<meta name="syncer-admin-origins">) is listened to.
(function () {
  "use strict";

  if (window.shopify && typeof window.shopify.idToken === "function") return;

  var meta = document.querySelector('meta[name="syncer-admin-origins"]');
  var adminOrigins = meta ? meta.getAttribute("content").split(/\s+/).filter(Boolean) : [];
  var framed = window.parent !== window;
  var pending = {};
  var sequence = 0;

  function isAdminOrigin(origin) {
    return adminOrigins.indexOf(origin) !== -1;
  }

  // The parent's origin when the browser tells it (Chromium, Safari), if it is an admin origin;
  // otherwise each admin origin (the browser delivers to the matching one only).
  function parentTargets() {
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) {
      return isAdminOrigin(ancestors[0]) ? [ancestors[0]] : [];
    }
    return adminOrigins.slice();
  }

  function post(message) {
    if (!framed) return false;
    var targets = parentTargets();
    targets.forEach(function (origin) { window.parent.postMessage(message, origin); });
    return targets.length > 0;
  }

  // A question to the admin; the answer comes back as {type: <type>:response, id, ...}.
  function ask(type, fields, timeoutMs) {
    return new Promise(function (resolve, reject) {
      var id = "m" + (++sequence);
      var message = Object.assign({ type: type, id: id }, fields || {});
      pending[id] = { resolve: resolve, reject: reject };
      if (!post(message)) {
        delete pending[id];
        reject(new Error("Syncer is not open inside a Shopify admin"));
        return;
      }
      if (timeoutMs) {
        setTimeout(function () {
          if (pending[id]) {
            delete pending[id];
            reject(new Error("timed out waiting for the admin"));
          }
        }, timeoutMs);
      }
    });
  }

  // ---- what the page declares ------------------------------------------------------------

  function linkItem(element, index) {
    return {
      index: index,
      label: element.textContent.trim(),
      href: element.getAttribute("href"),
      variant: element.getAttribute("variant") || "",
      tone: element.getAttribute("tone") || "",
      disabled: element.disabled === true || element.hasAttribute("disabled"),
    };
  }

  function navItems() {
    var menu = document.querySelector("ui-nav-menu");
    if (!menu) return [];
    return Array.prototype.filter.call(menu.children, function (child) {
      return child.tagName === "A";
    }).map(function (link) {
      return { label: link.textContent.trim(), href: link.getAttribute("href"),
               home: link.getAttribute("rel") === "home" };
    });
  }

  // The page's title bar (a modal's own is the modal's title).
  var PAGE_TITLE_BAR = "ui-title-bar:not(ui-modal ui-title-bar)";

  function titleBar() {
    var bar = document.querySelector(PAGE_TITLE_BAR);
    if (!bar) return null;
    var items = [];
    Array.prototype.forEach.call(bar.children, function (child, index) {
      if (child.tagName === "A" || child.tagName === "BUTTON") {
        items.push(linkItem(child, index));
      } else if (child.tagName === "SECTION") {
        Array.prototype.forEach.call(child.children, function (inner, innerIndex) {
          var item = linkItem(inner, index + "." + innerIndex);
          item.section = child.getAttribute("label") || "More actions";
          items.push(item);
        });
      }
    });
    return { title: bar.getAttribute("title") || document.title, items: items };
  }

  function address() {
    return window.location.pathname + window.location.search;
  }

  var lastState = "";
  function report() {
    var state = { type: "syncer:appBridge:state", path: address(), nav: navItems(),
                  titleBar: titleBar() };
    var text = JSON.stringify(state);
    if (text === lastState) return;
    lastState = text;
    post(state);
  }

  // ---- navigation asked for by the admin (its menu, title bar links) ---------------------

  function follow(href) {
    var main = document.getElementById("main") || document.body;
    if (!window.htmx) {
      window.location.assign(href);
      return;
    }
    var link = document.createElement("a");
    link.href = href;
    link.hidden = true;
    link.setAttribute("hx-boost", "true");
    main.appendChild(link);
    window.htmx.process(link);
    // htmx drops a request whose element left the page: it stays until its answer is in (a
    // page's answer replaces it with the rest of the page anyway).
    link.addEventListener("htmx:afterRequest", function () { link.remove(); });
    link.click();
  }

  function titleBarElement(index) {
    var bar = document.querySelector(PAGE_TITLE_BAR);
    if (!bar) return null;
    var path = String(index).split(".");
    var element = bar.children[Number(path[0])];
    if (element && path.length > 1) element = element.children[Number(path[1])];
    return element || null;
  }

  // ---- save bar ----------------------------------------------------------------------------

  var dirtyForms = []; // forms with changes since they were drawn (several cards may have one)
  var shownBarId = null; // shopify.saveBar.show(id) for a <ui-save-bar>, when used

  function formState(form) {
    var values = [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled || field.type === "submit" || field.type === "button") {
        return;
      }
      if (field.type === "checkbox" || field.type === "radio") {
        values.push(field.name + "=" + field.value + ":" + field.checked);
      } else if (field.tagName === "SELECT" && field.multiple) {
        Array.prototype.forEach.call(field.options, function (option) {
          values.push(field.name + "=" + option.value + ":" + option.selected);
        });
      } else {
        values.push(field.name + "=" + field.value);
      }
    });
    return values.join("&");
  }

  function watchForms(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var forms = Array.prototype.slice.call(scope.querySelectorAll("form[data-save-bar]"));
    if (scope.matches && scope.matches("form[data-save-bar]")) forms.push(scope);
    forms.forEach(function (form) { form.syncerInitialState = formState(form); });
    setDirtyForms(dirtyForms.filter(function (form) { return form.isConnected; }));
  }

  function setDirtyForms(forms) {
    var was = dirtyForms.length > 0;
    dirtyForms = forms;
    var visible = dirtyForms.length > 0;
    if (was === visible && !visible) return;
    post({ type: "syncer:saveBar", visible: visible || !!shownBarId,
           discardConfirmation: dirtyForms.some(function (form) {
             return form.hasAttribute("data-discard-confirmation");
           }) });
  }

  function markClean(form) {
    setDirtyForms(dirtyForms.filter(function (other) { return other !== form; }));
  }

  function onEdit(event) {
    var form = event.target.form || (event.target.closest && event.target.closest("form"));
    if (!form || !form.matches("form[data-save-bar]")) return;
    if (form.syncerInitialState === undefined) form.syncerInitialState = formState(form);
    var dirty = formState(form) !== form.syncerInitialState;
    if (dirty && dirtyForms.indexOf(form) === -1) setDirtyForms(dirtyForms.concat([form]));
    else if (!dirty && dirtyForms.indexOf(form) !== -1) markClean(form);
  }

  document.addEventListener("input", onEdit);
  document.addEventListener("change", onEdit);
  // The bar hides on submit and on reset, as App Bridge's does.
  document.addEventListener("submit", function (event) { markClean(event.target); });
  document.addEventListener("reset", function (event) { markClean(event.target); });

  // Leaving (reload, closing) with unsaved changes: the browser asks first.
  window.addEventListener("beforeunload", function (event) {
    if (dirtyForms.length) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // ---- modals ------------------------------------------------------------------------------
  // App Bridge draws a <ui-modal> over the whole admin: its content, its title bar's title as
  // the heading and the title bar's buttons at its foot; a click there is a click on the
  // page's button, whose handler hides the modal. Closing it (Escape, ×) hides it too; both
  // fire "hide" on the element.

  var shownModal = null;

  function modalButtons(modal) {
    var bar = modal.querySelector("ui-title-bar");
    return bar ? Array.prototype.filter.call(bar.children, function (child) {
      return child.tagName === "BUTTON";
    }) : [];
  }

  function modalShow(modal) {
    var bar = modal.querySelector("ui-title-bar");
    var text = Array.prototype.filter.call(modal.children, function (child) {
      return child.tagName !== "UI-TITLE-BAR";
    }).map(function (child) { return child.textContent.trim(); }).join("\n").trim();
    shownModal = modal;
    post({ type: "syncer:modal:show", id: modal.id,
           title: bar ? bar.getAttribute("title") || "" : "", text: text,
           buttons: modalButtons(modal).map(linkItem) });
    modal.dispatchEvent(new Event("show"));
    return Promise.resolve();
  }

  function modalHide(modal, closedInAdmin) {
    if (shownModal !== modal) return Promise.resolve();
    shownModal = null;
    if (!closedInAdmin) post({ type: "syncer:modal:hide", id: modal.id });
    modal.dispatchEvent(new Event("hide"));
    return Promise.resolve();
  }

  if (framed && window.customElements && !window.customElements.get("ui-modal")) {
    window.customElements.define("ui-modal", class extends HTMLElement {
      show() { return modalShow(this); }
      hide() { return modalHide(this, false); }
      toggle() { return shownModal === this ? this.hide() : this.show(); }
    });
  }

  // ---- messages from the admin -------------------------------------------------------------

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !isAdminOrigin(event.origin)) return;
    var data = event.data || {};
    if (typeof data.type !== "string") return;
    if (/:response$/.test(data.type) && data.id && pending[data.id]) {
      var waiter = pending[data.id];
      delete pending[data.id];
      if (data.error) waiter.reject(new Error(data.error));
      else waiter.resolve(data);
      return;
    }
    if (data.type === "syncer:appBridge:navigate" && typeof data.href === "string") {
      follow(data.href);
    } else if (data.type === "syncer:appBridge:titleBarAction") {
      var element = titleBarElement(data.index);
      if (!element || element.disabled) return;
      if (element.tagName === "A" && element.getAttribute("href")) follow(element.getAttribute("href"));
      else element.click();
    } else if (data.type === "syncer:modal:action" && shownModal && data.id === shownModal.id) {
      var button = modalButtons(shownModal)[Number(data.index)];
      if (button && !button.disabled) button.click();
    } else if (data.type === "syncer:modal:hide" && shownModal && data.id === shownModal.id) {
      modalHide(shownModal, true);
    } else if (data.type === "syncer:saveBar:save") {
      dirtyForms.slice().forEach(function (form) { form.requestSubmit(); });
    } else if (data.type === "syncer:saveBar:discard") {
      dirtyForms.slice().forEach(function (form) { form.reset(); });
    } else if (data.type === "syncer:saveBar:uiAction" && shownBarId) {
      var bar = document.getElementById(shownBarId);
      var button = bar && bar.querySelector(data.save ? 'button[variant="primary"]'
                                                     : 'button:not([variant="primary"])');
      if (button) button.click();
    }
  });

  // ---- window.shopify ------------------------------------------------------------------------

  function idToken() {
    if (!framed) return Promise.reject(new Error("Syncer is not open inside a Shopify admin"));
    return ask("syncer:idToken:request", {}, 5000).then(function (answer) {
      if (!answer.token) throw new Error("no session token");
      return answer.token;
    });
  }

  window.shopify = window.shopify || {};
  window.shopify.idToken = idToken;
  if (framed) {
    window.shopify.toast = {
      show: function (message, options) {
        post({ type: "syncer:toast", message: String(message),
               isError: !!(options && options.isError),
               duration: (options && options.duration) || 5000 });
      },
    };
  }
  if (framed) {
    window.shopify.modal = {
      show: function (id) {
        var modal = document.getElementById(id);
        return modal && modal.show ? modal.show() : Promise.reject(new Error("no modal " + id));
      },
      hide: function (id) {
        var modal = document.getElementById(id);
        return modal && modal.hide ? modal.hide() : Promise.resolve();
      },
    };
  }
  window.shopify.saveBar = {
    show: function (id) {
      shownBarId = id;
      post({ type: "syncer:saveBar", visible: true, discardConfirmation: false });
      return Promise.resolve();
    },
    hide: function (id) {
      if (shownBarId === id) shownBarId = null;
      post({ type: "syncer:saveBar", visible: dirtyForms.length > 0, discardConfirmation: false });
      return Promise.resolve();
    },
    toggle: function (id) {
      return shownBarId === id ? this.hide(id) : this.show(id);
    },
    // Resolves when no save bar shows, or once the merchant chooses to leave (and so to lose
    // the changes); stays pending when they stay, as nothing should happen then.
    leaveConfirmation: function () {
      if (!dirtyForms.length && !shownBarId) return Promise.resolve();
      return new Promise(function (resolve) {
        ask("syncer:saveBar:leaveConfirmation", {}, 0).then(function (answer) {
          if (!answer.leave) return;
          // Leaving drops the changes: the page they were on goes away.
          shownBarId = null;
          setDirtyForms([]);
          resolve();
        }, function () { resolve(); });
      });
    },
  };

  // ---- when to tell the admin ----------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    watchForms(document);
    report();
  });
  document.addEventListener("htmx:load", function (event) { watchForms(event.detail.elt); });
  ["htmx:afterSettle", "htmx:pushedIntoHistory", "htmx:replacedInHistory",
   "htmx:historyRestore"].forEach(function (name) {
    document.addEventListener(name, function () { setTimeout(report, 0); });
  });
  window.addEventListener("popstate", function () { setTimeout(report, 0); });
})();
